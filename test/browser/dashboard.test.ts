/**
 * The dashboard in a real headless Chromium: signing in and out; a stock change posted through
 * the API appearing live (server-sent events, no reload) on the stock page and on the variant
 * page; redriving a dead letter; a rule set's dry run, activation and rollback through the
 * confirmation dialog; a read token seeing no action and refused by the API when it tries; the
 * overview's channel card with the rate budget in use and the last error; the variant page
 * listing a reservation made through the API and an open order line.
 * Method: test/support/browser-harness.ts (SQLite harness on a loopback port, playwright-core
 * with /usr/bin/chromium); state is prepared through the API and the store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { emptyLineState } from '../../src/core/orders/line-state.js';
import { ChannelDispatcher } from '../../src/sync/dispatcher.js';
import { validateRetryPolicy } from '../../src/sync/retry-policy.js';
import { startBrowserHarness, type BrowserHarness } from '../support/browser-harness.js';
import { ScriptedChannel } from '../support/scripted-channel.js';

/** Poll an element's text until `holds` (the page updates by itself: live events). */
async function waitForText(page: Page, selector: string, holds: (text: string) => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  let text = '';
  while (Date.now() < deadline) {
    text = (await page.textContent(selector).catch(() => null)) ?? '';
    if (holds(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${selector} still shows ${JSON.stringify(text)}`);
}

const policy = validateRetryPolicy({ initialDelayMs: 1000, backoffCoefficient: 2, delayMsMax: 8000, attemptsMax: 3 });

describe('dashboard in Chromium', () => {
  let b: BrowserHarness;
  let key = 0;
  const channel = new ScriptedChannel(10);
  let pusher: ChannelDispatcher;

  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => {
    const response = await b.h.call({ method, url, as: 'admin', ...(payload ? { payload } : {}) });
    assert.ok(response.statusCode < 300, `${method} ${url}: ${response.body}`);
    return response.json();
  };
  const receive = (sku: string, quantity: number) =>
    api('POST', '/v1/movements', {
      movements: [{ key: `b-${++key}`, type: 'receipt', sku, location: 'WH1', quantity }],
    });

  before(async () => {
    // The connector of `bol` reports 30 of 40 requests used, as a running connector would.
    b = await startBrowserHarness({
      rateBudget: (code) => (code === 'bol' ? { available: 10, capacity: 40, waitMs: 0 } : undefined),
    });
    await api('PUT', '/v1/channels', {
      channels: [{ code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] }],
    });
    await api('PUT', '/v1/listings', {
      listings: ['A', 'B'].map((sku) => ({ channel: 'bol', external_id: `offer-${sku}`, sku })),
    });
    await receive('A', 4);
    await receive('B', 3);
    channel.permanent.add('offer-B');
    pusher = new ChannelDispatcher({
      channel: 'bol',
      connector: channel,
      outbox: b.h.store.outbox,
      clock: b.h.clock,
      owner: 'pusher-1',
      policy,
      random: () => 0.5,
    });
    while ((await pusher.tick()) > 0);
  });
  after(async () => {
    await pusher.stop();
    await b.close();
  });

  it('signs in with a token, shows who is signed in, and signs out', async () => {
    const page = await b.newPage();
    await page.goto(b.base);
    await page.fill('#token', 'onh_read_not-a-real-token-not-a-real-token-not-a-r');
    await page.click('button[type=submit]');
    await page.waitForSelector('.signin [role=alert]');
    await page.fill('#token', b.h.tokens.write);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=overview]');
    assert.equal(await page.textContent('[data-testid=whoami]'), 'writer (write)');
    await page.waitForSelector('[data-testid=channel-card-bol]');
    const cookies = await page.context().cookies();
    const session = cookies.find((cookie) => cookie.name === 'onhand_session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate('document.cookie'), '', 'the page cannot read the session cookie');
    await page.click('[data-testid=signout]');
    await page.waitForSelector('[data-testid=signin]');
    await page.reload();
    await page.waitForSelector('[data-testid=signin]');
  });

  it('shows a stock change posted through the API live on the stock page and on the variant page', async () => {
    const page = await b.signedIn('read');
    await page.click('[data-testid=nav-stock]');
    await page.waitForSelector('[data-testid=stock-row-A]');
    assert.equal(await page.textContent('[data-testid=stock-available-A]'), '4');
    await receive('A', 6);
    await waitForText(page, '[data-testid=stock-available-A]', (text) => text === '10');
    assert.equal(await page.textContent('[data-testid=stock-A-WH1]'), '10 · 0 · 10 · 0');
    await page.click('[data-testid=stock-row-A] a');
    await page.waitForSelector('[data-testid=variant-available-total]');
    assert.equal(await page.textContent('[data-testid=variant-available-total]'), '10');
    await page.waitForSelector('[data-testid=variant-listing-bol] ol li');
    await receive('A', 1);
    await waitForText(page, '[data-testid=variant-available-total]', (text) => text === '11');
    await waitForText(page, '[data-testid=variant-listing-bol]', (text) => text.includes('Shows 11'));
  });

  it('redrives a dead letter from the channel page', async () => {
    const page = await b.signedIn('admin');
    await page.goto(`${b.base}/#/channels/bol`);
    await page.waitForSelector('[data-testid=dead-B]');
    channel.permanent.delete('offer-B');
    await page.click('[data-testid=redrive]');
    await page.click('[data-testid=redrive-confirm]');
    await page.waitForSelector('[data-testid=channel-notice]');
    assert.match((await page.textContent('[data-testid=channel-notice]')) ?? '', /1 moved back to pending/);
    await page.waitForSelector('[data-testid=dead-none]');
    while ((await pusher.tick()) > 0);
    assert.equal(channel.shown.get('offer-B'), 3, 'the redriven listing was pushed');
  });

  it('dry-runs, activates and rolls back a rule set with confirmation', async () => {
    await api('POST', '/v1/rule-sets', { rules: { defaults: { cap: 100 } }, note: 'loose' });
    await api('POST', '/v1/rule-sets/1/activate', { note: 'first' });
    await api('POST', '/v1/rule-sets', { rules: { defaults: { cap: 2 } }, note: 'tight' });
    const page = await b.signedIn('admin');
    await page.goto(`${b.base}/#/rules`);
    await page.click('[data-testid=rule-open-2]');
    await page.click('[data-testid=rule-dry-run]');
    await page.waitForSelector('[data-testid=dry-run-summary]');
    assert.match((await page.textContent('[data-testid=dry-run-summary]')) ?? '', /^2 of 2 listings would change/);
    await page.click('[data-testid=rule-activate]');
    assert.ok(await page.isVisible('[data-testid=rule-activate-dialog]'), 'a confirmation is asked first');
    await page.click('[data-testid=rule-activate-confirm]');
    await page.waitForSelector('[data-testid=rule-version-2] [data-testid=rule-active]');
    const availability = await api('GET', '/v1/availability/A');
    assert.equal(availability.listings[0].quantity, 2);
    await page.click('[data-testid=rule-open-1]');
    await waitForText(page, '[data-testid=rule-activate]', (text) => text.includes('Roll back to v1'));
    await page.click('[data-testid=rule-activate]');
    await page.click('[data-testid=rule-activate-confirm]');
    await page.waitForSelector('[data-testid=rule-version-1] [data-testid=rule-active]');
    assert.equal((await api('GET', '/v1/availability/A')).listings[0].quantity, 11);
  });

  it('a read token sees no action, and the API refuses the session when it tries', async () => {
    const page = await b.signedIn('read');
    await page.goto(`${b.base}/#/channels/bol`);
    await page.waitForSelector('[data-testid=redrive-needs-admin]');
    assert.equal(await page.$('[data-testid=redrive]'), null);
    assert.equal(await page.$('[data-testid=reconcile]'), null);
    assert.equal(await page.$('[data-testid=inbox-retry]'), null);
    await page.goto(`${b.base}/#/rules`);
    await page.click('[data-testid=rule-open-1]');
    await page.waitForSelector('[data-testid=rules-needs-admin]');
    assert.equal(await page.$('[data-testid=rule-activate]'), null);
    assert.equal(await page.$('[data-testid=rule-dry-run]'), null);
    await page.goto(`${b.base}/#/import`);
    await page.waitForSelector('[data-testid=import-needs-write]');
    // The page's own credentials (cookie and CSRF value) on a route it hides:
    const refused = await page.evaluate(async () => {
      const session = (await (await fetch('/v1/session')).json()) as { csrf_token: string };
      const response = await fetch('/v1/rule-sets/1/activate', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-onhand-csrf': session.csrf_token },
        body: '{}',
      });
      return { status: response.status, body: (await response.json()) as { code: string } };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'ONH_ERR_FORBIDDEN');
  });

  it("shows the rate budget in use and the last error on the overview's channel card", async () => {
    channel.permanent.add('offer-A');
    await receive('A', 1);
    while ((await pusher.tick()) > 0);
    const page = await b.signedIn('read');
    await page.waitForSelector('[data-testid=channel-card-bol]');
    await waitForText(page, '[data-testid=channel-rate-bol]', (text) => text.startsWith('75%'));
    assert.equal(await page.textContent('[data-testid=channel-rate-bol]'), '75% (10 of 40 left)');
    const status = await api('GET', '/v1/sync/status');
    const error = status.channels.find((each: { channel: string }) => each.channel === 'bol').last_error;
    assert.equal(typeof error, 'string', 'the channel refused offer-A');
    assert.equal(await page.textContent('[data-testid=channel-error-bol]'), error);
  });

  it('lists a reservation made through the API and an open order line on the variant page', async () => {
    const page = await b.signedIn('read');
    await page.goto(`${b.base}/#/variant/B`);
    await page.waitForSelector('[data-testid=variant-reservations-none]');
    await page.waitForSelector('[data-testid=variant-order-lines-none]');
    const { reservation } = await api('POST', '/v1/reservations', {
      key: 'browser-hold',
      sku: 'B',
      location: 'WH1',
      quantity: 2,
    });
    await page.waitForSelector(`[data-testid=variant-reservation-${reservation.id}]`);
    assert.match(
      (await page.textContent(`[data-testid=variant-reservation-${reservation.id}]`)) ?? '',
      new RegExp(`${reservation.id}WH1—20`),
    );
    const at = b.h.clock.now();
    assert.ok(
      await b.h.store.orders.saveLine({
        channel: 'bol',
        lineKey: 'bol:acct:order-7:1',
        orderId: 'order-7',
        lineId: '1',
        item: { externalId: 'offer-B', sku: 'B', barcode: null },
        sku: 'B',
        state: emptyLineState(),
        applied: { WH1: { reserved: 1, shipped: 0, writtenOff: 0, returned: 0 } },
        seq: 1,
        version: 0,
        status: 'open',
        reason: null,
        createdAt: at,
        updatedAt: at,
      }),
    );
    // A line saved through the store publishes nothing: the page reads it when it loads.
    await page.reload();
    await page.waitForSelector('[data-testid=variant-order-line-bol-order-7-1]');
    assert.match(
      (await page.textContent('[data-testid=variant-order-line-bol-order-7-1]')) ?? '',
      /WH1: 1 reserved, 0 shipped/,
    );
  });
});
