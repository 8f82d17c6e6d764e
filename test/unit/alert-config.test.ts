/**
 * Alert settings (src/config): defaults that turn every rule on with sensible thresholds and no
 * webhook; each bad value is refused naming its flag or variable; the webhook secret may be
 * read from another variable (`env:NAME`), is required with a URL, and never appears in an
 * error or in the configuration's printed or serialised form.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { alertThresholds } from '../../src/alerts/alert-loop.js';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';

const secret = 'a-webhook-secret-long-enough';

function refused(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, message: RegExp): string {
  let text = '';
  assert.throws(
    () => loadConfig(flags, env),
    (error: unknown) => {
      text = error instanceof Error ? error.message : '';
      return error instanceof ConfigError && message.test(text);
    },
  );
  return text;
}

describe('alert configuration', () => {
  it('has defaults: every rule on, no webhook', () => {
    const config = loadConfig({}, {});
    assert.deepEqual(alertThresholds(config), {
      driftPercent: 1,
      oldestPendingMs: 300_000,
      failingMs: 15 * 60_000,
      deadLetters: true,
      orderSilence: { floorMs: 60 * 60_000, factor: 4, gapsMin: 20 },
    });
    assert.equal(config.alertWebhookUrl, null);
    assert.equal(config.alertWebhookSecret, null);
  });

  it('reads thresholds from flags and the environment; 0 turns a rule off', () => {
    const config = loadConfig(
      { alertDriftPercent: '0.5', alertFailingMinutes: 0 },
      {
        ONHAND_ALERT_ORDER_SILENCE_MINUTES: '90',
        ONHAND_ALERT_ORDER_SILENCE_FACTOR: '2.5',
        ONHAND_ALERT_DEAD_LETTERS: 'off',
      },
    );
    assert.deepEqual(alertThresholds(config), {
      driftPercent: 0.5,
      oldestPendingMs: 300_000,
      failingMs: null,
      deadLetters: false,
      orderSilence: { floorMs: 90 * 60_000, factor: 2.5, gapsMin: 20 },
    });
  });

  const cases: [string, Record<string, unknown>, NodeJS.ProcessEnv, RegExp][] = [
    ['a drift share above 100%', { alertDriftPercent: 150 }, {}, /^invalid configuration: --alert-drift-percent=150:/],
    [
      'a pending age that is not a number',
      {},
      { ONHAND_ALERT_OLDEST_PENDING_SECONDS: 'soon' },
      /ONHAND_ALERT_OLDEST_PENDING_SECONDS="soon"/,
    ],
    ['a silence factor below 1', { alertOrderSilenceFactor: 0.5 }, {}, /--alert-order-silence-factor=0.5:/],
    [
      'a silence factor that is not a number',
      {},
      { ONHAND_ALERT_ORDER_SILENCE_FACTOR: 'lots' },
      /ONHAND_ALERT_ORDER_SILENCE_FACTOR="lots"/,
    ],
    ['negative minutes', { alertFailingMinutes: -1 }, {}, /--alert-failing-minutes=-1/],
    [
      'a dead-letters switch that is no boolean',
      {},
      { ONHAND_ALERT_DEAD_LETTERS: 'maybe' },
      /ONHAND_ALERT_DEAD_LETTERS="maybe": expected true or false/,
    ],
    [
      'a webhook URL that is no URL',
      { alertWebhookUrl: 'hooks', alertWebhookSecret: secret },
      {},
      /--alert-webhook-url="hooks"/,
    ],
    [
      'a webhook URL that is not http',
      {},
      { ONHAND_ALERT_WEBHOOK_URL: 'ftp://x.test/', ONHAND_ALERT_WEBHOOK_SECRET: secret },
      /ONHAND_ALERT_WEBHOOK_URL="ftp:\/\/x.test\/"/,
    ],
    [
      'a URL without a secret',
      { alertWebhookUrl: 'https://hooks.test/onhand' },
      {},
      /--alert-webhook-secret \(env ONHAND_ALERT_WEBHOOK_SECRET\) required/,
    ],
    [
      'a secret naming an unset variable',
      { alertWebhookSecret: 'env:HOOK_KEY' },
      {},
      /--alert-webhook-secret="env:HOOK_KEY": the variable HOOK_KEY is not set/,
    ],
  ];
  for (const [name, flags, env, message] of cases)
    it(`refuses ${name}, naming the setting`, () => {
      refused(flags, env, message);
    });

  it('never repeats a secret in an error', () => {
    const text = refused(
      { alertWebhookSecret: 'short-secret' },
      {},
      /--alert-webhook-secret="\[redacted\]": expected at least 16/,
    );
    assert.ok(!text.includes('short-secret'));
  });

  it('turns order silence off with a floor of 0', () => {
    assert.equal(alertThresholds(loadConfig({ alertOrderSilenceMinutes: '0' }, {})).orderSilence, null);
  });

  it('reads the secret from another variable, and hides it when printed', () => {
    const config = loadConfig(
      { alertWebhookUrl: 'https://hooks.test/onhand' },
      { ONHAND_ALERT_WEBHOOK_SECRET: 'env:HOOK_KEY', HOOK_KEY: secret },
    );
    assert.equal(config.alertWebhookSecret?.reveal(), secret);
    assert.ok(!JSON.stringify(config).includes(secret));
    assert.ok(!inspect(config, { depth: 5 }).includes(secret));
    assert.ok(!String(config.alertWebhookSecret).includes(secret));
  });
});
