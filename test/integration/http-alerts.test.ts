/**
 * GET /v1/alerts answers the store's alerts with a read token: open by default, resolved or all
 * when asked, newest first, in the documented view; an unknown status is a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

describe('HTTP alerts', () => {
  let h: HttpHarness;

  before(async () => {
    h = await startHttpHarness();
    const now = h.clock.now();
    const drift = await h.store.alerts.open({ rule: 'drift', channel: 'shop', detail: { percent: 3 } }, now);
    await h.store.alerts.resolve(drift!.id, now + 1_000);
    await h.store.alerts.open(
      { rule: 'oldest_pending', channel: 'bol', detail: { oldest_pending_ms: 400_000 } },
      now + 2_000,
    );
  });
  after(() => h.close());

  it('lists open alerts by default, and resolved or all when asked', async () => {
    const open = await h.call({ method: 'GET', url: '/v1/alerts', as: 'read' });
    assert.equal(open.statusCode, 200, open.body);
    assert.deepEqual(open.json().alerts, [
      {
        id: open.json().alerts[0].id,
        rule: 'oldest_pending',
        channel: 'bol',
        status: 'open',
        opened_at: new Date(h.clock.now() + 2_000).toISOString(),
        resolved_at: null,
        detail: { oldest_pending_ms: 400_000 },
      },
    ]);
    const resolved = await h.call({ method: 'GET', url: '/v1/alerts?status=resolved', as: 'read' });
    assert.deepEqual(
      resolved.json().alerts.map((alert: { rule: string; resolved_at: string }) => [alert.rule, alert.resolved_at]),
      [['drift', new Date(h.clock.now() + 1_000).toISOString()]],
    );
    const all = await h.call({ method: 'GET', url: '/v1/alerts?status=all&limit=1', as: 'read' });
    assert.equal(all.json().alerts.length, 1);
  });

  it('refuses an unknown status, and a request without a token', async () => {
    const bad = await h.call({ method: 'GET', url: '/v1/alerts?status=closed', as: 'read' });
    const problem = assertProblem(bad, 400, 'ONH_ERR_VALIDATION');
    assert.match(JSON.stringify(problem.errors), /status/);
    const anonymous = await h.call({ method: 'GET', url: '/v1/alerts', as: null });
    assert.equal(anonymous.statusCode, 401);
  });
});
