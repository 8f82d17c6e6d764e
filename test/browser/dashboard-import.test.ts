/**
 * The dashboard's import page in headless Chromium, against the import contract:
 * `POST /v1/imports/{kind}?dry_run=true|false` with a text/csv body, answering 200
 * `{kind, rows, applied, created, updated, unchanged, errors: [{line, column, reason}]}`, or 422
 * with the same shape when a row is bad and nothing was applied. A dry run reports and changes
 * nothing, an import applies, a bad file shows each bad row by line and column.
 * Method: test/support/browser-harness.ts; the outcome is checked through the API too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserHarness, type BrowserHarness } from '../support/browser-harness.js';

async function waitForText(page: Page, selector: string, holds: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 10_000;
  let text = '';
  while (Date.now() < deadline) {
    text = (await page.textContent(selector).catch(() => null)) ?? '';
    if (holds(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return assert.fail(`${selector} still shows ${JSON.stringify(text)}`);
}

describe('dashboard import page in Chromium', () => {
  let b: BrowserHarness;

  before(async () => {
    b = await startBrowserHarness();
  });
  after(async () => b.close());

  async function upload(page: Page, csv: string) {
    await page.selectOption('[data-testid=import-kind]', 'variants');
    await page.setInputFiles('[data-testid=import-file]', {
      name: 'variants.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv, 'utf8'),
    });
  }

  it('checks a file with a dry run, then imports it', async () => {
    const page = await b.signedIn('write');
    await page.goto(`${b.base}/#/import`);
    await upload(page, 'sku,name\nIMP-1,Imported one\nIMP-2,Imported two\n');
    await page.click('[data-testid=import-dry-run]');
    const checked = await waitForText(page, '[data-testid=import-report]', (text) => text.includes('rows'));
    assert.match(checked, /Dry run, nothing applied: 2 rows; 2 created/);
    assert.equal((await b.h.call({ method: 'GET', url: '/v1/variants/IMP-1', as: 'read' })).statusCode, 404);
    await page.click('[data-testid=import-apply]');
    await waitForText(page, '[data-testid=import-report]', (text) => text.startsWith('Applied'));
    assert.equal((await b.h.call({ method: 'GET', url: '/v1/variants/IMP-2', as: 'read' })).statusCode, 200);
  });

  it('shows every bad row by line and column, and applies nothing', async () => {
    const page = await b.signedIn('write');
    await page.goto(`${b.base}/#/import`);
    await upload(page, 'sku,name\nIMP-3,Fine\n,No sku\n');
    await page.click('[data-testid=import-apply]');
    await waitForText(page, '[data-testid=import-report]', (text) => text.startsWith('Nothing applied'));
    const errors = await page.textContent('[data-testid=import-errors]');
    assert.match(errors ?? '', /3\s*sku/);
    assert.equal((await b.h.call({ method: 'GET', url: '/v1/variants/IMP-3', as: 'read' })).statusCode, 404);
  });
});
