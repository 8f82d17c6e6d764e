/**
 * Goal: the availability routes map faithfully to the store port and back to snake_case:
 * channels; listings matched by sku, by barcode and by explicit mapping, with unmapped items
 * reported and listed (never dropped); rule-set versions created, dry-run (nothing stored),
 * activated and rolled back, with an audit of who and when; explain as JSON and text; bad
 * rules refused as one 422 listing every problem, changing nothing; scopes enforced; and a
 * movement changes what a listing shows in the same ledger transaction.
 *
 * Method: app.inject on a fresh SQLite store with a fake clock. The catalogue is small enough
 * to compute every expected quantity by hand (see `stock` below). The tests run in order: each
 * builds on the state the previous one left.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, referenceTime, startHttpHarness, type HttpHarness } from '../support/http-harness.js';

/**
 * Stock, all warehouses: A 10 @WH1 + 5 @WH2; B 4 @WH1; C 3 @WH1; D 6 @WH1 (barcode 8710000000004);
 * KIT = 1 A + 2 B, so 2 kits at WH1 (B limits: 4 / 2) and 0 at WH2 (no B).
 * Channels: shop <- WH1, WH2; bol <- WH1.
 * Without rules: shop A 15, D 6, KIT 2; bol A 10, KIT 2, C 3.
 */
const stock = [
  { sku: 'A', location: 'WH1', quantity: 10 },
  { sku: 'A', location: 'WH2', quantity: 5 },
  { sku: 'B', location: 'WH1', quantity: 4 },
  { sku: 'C', location: 'WH1', quantity: 3 },
  { sku: 'D', location: 'WH1', quantity: 6 },
];

/** v1: bol never shows more than 5. Shows: shop A 15, D 6, KIT 2; bol A 5, KIT 2, C 3. */
const rulesV1 = { channels: { bol: { cap: 5 } } };
/**
 * v2: everyone holds back 1 unit; shop also 20%; bol is capped at 2. Shows:
 * shop A floor(15 x 0.8) - 1 = 11, D floor(6 x 0.8) - 1 = 3, KIT floor(2 x 0.8) - 1 = 0;
 * bol A min(10 - 1, 2) = 2, KIT 2 - 1 = 1, C 3 - 1 = 2.
 */
const rulesV2 = {
  defaults: { buffer: { units: 1 } },
  channels: { bol: { cap: 2 }, shop: { buffer: { percent: 20 } } },
};

describe('HTTP availability: channels, listings, rule sets, explain', () => {
  let h: HttpHarness;
  /** Listing ids by external id. */
  const ids = new Map<string, string>();

  async function quantities(sku: string): Promise<Record<string, number>> {
    const response = await h.call({ method: 'GET', url: `/v1/availability/${sku}`, as: 'read' });
    assert.equal(response.statusCode, 200, response.body);
    return Object.fromEntries(response.json().listings.map((listing: any) => [listing.external_id, listing.quantity]));
  }

  async function ruleSetState() {
    const versions = (await h.call({ method: 'GET', url: '/v1/rule-sets', as: 'read' })).json();
    const events = (await h.call({ method: 'GET', url: '/v1/rule-sets/events', as: 'read' })).json();
    return { versions, events, a: await quantities('A'), kit: await quantities('KIT') };
  }

  before(async () => {
    h = await startHttpHarness();
    await h.seedCatalogue();
    const variants = await h.call({
      method: 'PUT',
      url: '/v1/variants',
      payload: {
        variants: [
          { sku: 'D', name: 'Variant D', barcode: '8710000000004' },
          {
            sku: 'KIT',
            name: 'Kit of A and 2 B',
            components: [
              { sku: 'A', quantity: 1 },
              { sku: 'B', quantity: 2 },
            ],
          },
        ],
      },
    });
    assert.equal(variants.statusCode, 200, variants.body);
    const receipts = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: { movements: stock.map((line, index) => ({ key: `receipt-${index}`, type: 'receipt', ...line })) },
    });
    assert.equal(receipts.statusCode, 200, receipts.body);
    assert.ok(
      receipts.json().results.every((result: any) => result.status === 'applied'),
      receipts.body,
    );
  });
  after(async () => h.close());

  // --- channels --------------------------------------------------------------------------------

  it('creates and updates channels (admin), and lists them with their locations in priority order', async () => {
    const channels = [
      {
        code: 'shop',
        name: 'Own shop',
        platform: 'shopify',
        settings: { shop_domain: 'example.myshopify.com' },
        locations: ['WH1', 'WH2'],
        push_latency_p95_ms: 800,
      },
      { code: 'bol', name: 'Bol.com', platform: 'bol', locations: ['WH1'] },
    ];
    const created = await h.call({ method: 'PUT', url: '/v1/channels', payload: { channels }, as: 'admin' });
    assert.equal(created.statusCode, 200, created.body);
    assert.deepEqual(created.json(), { created: 2, updated: 0 });
    h.clock.advance(1_000);
    const updated = await h.call({
      method: 'PUT',
      url: '/v1/channels',
      payload: { channels: channels.slice(0, 1) },
      as: 'admin',
    });
    assert.deepEqual(updated.json(), { created: 0, updated: 1 });

    const list = (await h.call({ method: 'GET', url: '/v1/channels', as: 'read' })).json();
    assert.deepEqual(list.items.map((channel: any) => channel.code).sort(), ['bol', 'shop']);
    const shop = (await h.call({ method: 'GET', url: '/v1/channels/shop', as: 'read' })).json();
    assert.deepEqual(shop, {
      code: 'shop',
      name: 'Own shop',
      platform: 'shopify',
      settings: { shop_domain: 'example.myshopify.com' },
      locations: ['WH1', 'WH2'],
      push_latency_p95_ms: 800,
      created_at: new Date(referenceTime).toISOString(),
      updated_at: new Date(referenceTime + 1_000).toISOString(),
    });
    const bol = (await h.call({ method: 'GET', url: '/v1/channels/bol', as: 'read' })).json();
    assert.equal(bol.push_latency_p95_ms, 2000, 'the documented default');
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/channels/nope', as: 'read' }),
      404,
      'ONH_ERR_CHANNEL_NOT_FOUND',
    );
  });

  it('refuses a channel fed by an unknown location (422, nothing changed) and bad shapes (400)', async () => {
    const before = (await h.call({ method: 'GET', url: '/v1/channels', as: 'read' })).json();
    const unknown = await h.call({
      method: 'PUT',
      url: '/v1/channels',
      payload: { channels: [{ code: 'bol', name: 'Bol.com renamed', platform: 'bol', locations: ['WH1', 'NOWHERE'] }] },
      as: 'admin',
    });
    const problem = assertProblem(unknown, 422, 'ONH_ERR_CATALOGUE');
    assert.deepEqual(
      problem.errors.map((error: any) => error.path),
      ['/channels/0/locations/1'],
    );
    assert.deepEqual((await h.call({ method: 'GET', url: '/v1/channels', as: 'read' })).json(), before);

    const shape = await h.call({
      method: 'PUT',
      url: '/v1/channels',
      payload: { channels: [{ code: 'x', name: 'X', platform: 'myspace', locations: ['WH1', 'WH1'], secret: 'no' }] },
      as: 'admin',
    });
    const paths = assertProblem(shape, 400, 'ONH_ERR_VALIDATION').errors.map((error: any) => error.path);
    for (const path of ['/channels/0/platform', '/channels/0/locations', '/channels/0/secret'])
      assert.ok(paths.includes(path), JSON.stringify(paths));
  });

  // --- listings --------------------------------------------------------------------------------

  it('upserts listings matched by sku and by barcode, and reports every unmapped item', async () => {
    const response = await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: {
        listings: [
          {
            channel: 'shop',
            external_id: 'shop-A',
            sku: 'A',
            external_location_id: 'gid://shopify/Location/1',
            rank: 1,
          },
          {
            channel: 'shop',
            external_id: 'shop-D',
            barcode: '8710000000004',
            external_refs: { product_id: '41', variation_id: '42' },
          },
          { channel: 'shop', external_id: 'shop-KIT', sku: 'KIT' },
          { channel: 'bol', external_id: 'bol-A', sku: 'A', rank: 5 },
          { channel: 'bol', external_id: 'bol-KIT', sku: 'KIT' },
          { channel: 'bol', external_id: 'bol-GHOST', sku: 'GHOST' },
          { channel: 'bol', external_id: 'bol-C', barcode: '0000000000000' },
        ],
      },
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.created, 5);
    assert.equal(body.updated, 0);
    assert.deepEqual(
      body.unmapped.map((item: any) => [item.index, item.channel, item.external_id, item.sku, item.barcode]),
      [
        [5, 'bol', 'bol-GHOST', 'GHOST', null],
        [6, 'bol', 'bol-C', null, '0000000000000'],
      ],
    );
    assert.ok(body.unmapped.every((item: any) => item.reason.length > 0));

    const unmapped = (await h.call({ method: 'GET', url: '/v1/unmapped?channel=bol', as: 'read' })).json();
    assert.deepEqual(unmapped.items.map((item: any) => item.external_id).sort(), ['bol-C', 'bol-GHOST']);
    assert.ok(unmapped.items.every((item: any) => item.at === new Date(h.clock.now()).toISOString()));
    assert.deepEqual((await h.call({ method: 'GET', url: '/v1/unmapped?channel=shop', as: 'read' })).json(), {
      items: [],
    });

    const shopD = (await h.call({ method: 'GET', url: '/v1/listings?channel=shop&sku=D', as: 'read' })).json().items;
    assert.equal(shopD.length, 1);
    assert.equal(shopD[0].matched_by, 'barcode');
    assert.deepEqual(shopD[0].external_refs, { product_id: '41', variation_id: '42' });
  });

  it('maps an item explicitly; the mapping wins and the item leaves the unmapped list', async () => {
    const mapped = await h.call({
      method: 'PUT',
      url: '/v1/listing-mappings',
      payload: { mappings: [{ channel: 'bol', external_id: 'bol-C', sku: 'C' }] },
    });
    assert.equal(mapped.statusCode, 200, mapped.body);
    assert.deepEqual(mapped.json(), { created: 1, updated: 0 });
    const again = await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: { listings: [{ channel: 'bol', external_id: 'bol-C', barcode: '0000000000000' }] },
    });
    assert.deepEqual(again.json(), { created: 1, updated: 0, unmapped: [] });
    const unmapped = (await h.call({ method: 'GET', url: '/v1/unmapped', as: 'read' })).json();
    assert.deepEqual(
      unmapped.items.map((item: any) => item.external_id),
      ['bol-GHOST'],
    );

    const unknownSku = await h.call({
      method: 'PUT',
      url: '/v1/listing-mappings',
      payload: { mappings: [{ channel: 'nope', external_id: 'x', sku: 'GHOST' }] },
    });
    const paths = assertProblem(unknownSku, 422, 'ONH_ERR_CATALOGUE').errors.map((error: any) => error.path);
    assert.deepEqual(paths.sort(), ['/mappings/0/channel', '/mappings/0/sku']);
  });

  it('lists listings page by page and shows one; unknown ids and channels are refused', async () => {
    const seen: any[] = [];
    let after: string | null = null;
    do {
      const url: string = `/v1/listings?limit=4${after ? `&after=${after}` : ''}`;
      const page = (await h.call({ method: 'GET', url, as: 'read' })).json();
      seen.push(...page.items);
      after = page.next_after;
    } while (after);
    assert.deepEqual(seen.map((listing) => listing.external_id).sort(), [
      'bol-A',
      'bol-C',
      'bol-KIT',
      'shop-A',
      'shop-D',
      'shop-KIT',
    ]);
    for (const listing of seen) ids.set(listing.external_id, listing.id);

    const bolC = (await h.call({ method: 'GET', url: `/v1/listings/${ids.get('bol-C')}`, as: 'read' })).json();
    assert.deepEqual(
      { ...bolC, id: undefined, created_at: undefined, updated_at: undefined },
      {
        id: undefined,
        channel: 'bol',
        sku: 'C',
        external_id: 'bol-C',
        external_location_id: null,
        external_refs: {},
        rank: 100,
        matched_by: 'mapping',
        created_at: undefined,
        updated_at: undefined,
      },
    );
    const shopA = seen.find((listing) => listing.external_id === 'shop-A');
    assert.equal(shopA.external_location_id, 'gid://shopify/Location/1');
    assert.equal(shopA.matched_by, 'sku');
    assert.equal(shopA.rank, 1);
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/listings/999999', as: 'read' }),
      404,
      'ONH_ERR_LISTING_NOT_FOUND',
    );
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/listings/999999/explain', as: 'read' }),
      404,
      'ONH_ERR_LISTING_NOT_FOUND',
    );

    const unknownChannel = await h.call({
      method: 'PUT',
      url: '/v1/listings',
      payload: { listings: [{ channel: 'amazon', external_id: 'x', sku: 'A' }] },
    });
    assert.deepEqual(
      assertProblem(unknownChannel, 422, 'ONH_ERR_CATALOGUE').errors.map((error: any) => error.path),
      ['/listings/0/channel'],
    );
  });

  it('shows what every listing of a sku may show, before any rule set', async () => {
    assert.deepEqual(await quantities('A'), { 'bol-A': 10, 'shop-A': 15 });
    assert.deepEqual(await quantities('KIT'), { 'bol-KIT': 2, 'shop-KIT': 2 });
    const view = (await h.call({ method: 'GET', url: '/v1/availability/D', as: 'read' })).json();
    assert.deepEqual(view, {
      sku: 'D',
      listings: [
        {
          listing_id: ids.get('shop-D'),
          channel: 'shop',
          external_id: 'shop-D',
          quantity: 6,
          preorder: null,
          rule_version: view.listings[0].rule_version,
          computed_at: view.listings[0].computed_at,
        },
      ],
    });
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/availability/NOPE', as: 'read' }),
      404,
      'ONH_ERR_VARIANT_NOT_FOUND',
    );
  });

  // --- rule sets -------------------------------------------------------------------------------

  it('creates versions with the token name as author; creating does not activate', async () => {
    h.clock.advance(60_000);
    const first = await h.call({
      method: 'POST',
      url: '/v1/rule-sets',
      payload: { rules: rulesV1, note: 'cap bol at 5' },
      as: 'admin',
    });
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers.location, '/v1/rule-sets/1');
    assert.deepEqual(first.json(), {
      version: 1,
      author: 'admin',
      note: 'cap bol at 5',
      created_at: new Date(h.clock.now()).toISOString(),
      active: false,
      activated_at: null,
      rules: rulesV1,
    });
    assert.deepEqual(await quantities('A'), { 'bol-A': 10, 'shop-A': 15 }, 'not active yet');

    const activated = await h.call({
      method: 'POST',
      url: '/v1/rule-sets/1/activate',
      payload: { note: 'first rules' },
      as: 'admin',
    });
    assert.equal(activated.statusCode, 200, activated.body);
    const { changed, ...report } = activated.json() as {
      changed: number;
      variants: number;
      listings: number;
      rule_version: number;
    };
    assert.deepEqual(report, { variants: 4, listings: 6, rule_version: 1 });
    assert.ok(changed >= 1, 'at least bol-A changed');
    assert.deepEqual(await quantities('A'), { 'bol-A': 5, 'shop-A': 15 });

    h.clock.advance(60_000);
    const second = await h.call({ method: 'POST', url: '/v1/rule-sets', payload: { rules: rulesV2 }, as: 'admin' });
    assert.equal(second.statusCode, 201, second.body);
    assert.equal(second.json().version, 2);
    assert.equal(second.json().note, null);

    const list = (await h.call({ method: 'GET', url: '/v1/rule-sets', as: 'read' })).json();
    assert.deepEqual(
      list.items.map((each: any) => [each.version, each.author, each.active, each.activated_at !== null]).sort(),
      [
        [1, 'admin', true, true],
        [2, 'admin', false, false],
      ],
    );
    assert.ok(
      list.items.every((each: any) => !('rules' in each)),
      'the list names versions, GET /v1/rule-sets/{version} shows rules',
    );
    assert.deepEqual((await h.call({ method: 'GET', url: '/v1/rule-sets/2', as: 'read' })).json().rules, rulesV2);
    assertProblem(
      await h.call({ method: 'GET', url: '/v1/rule-sets/99', as: 'read' }),
      404,
      'ONH_ERR_RULE_SET_NOT_FOUND',
    );
  });

  it('dry-runs rules: every change against the active version, biggest drops first, nothing stored', async () => {
    const before = await ruleSetState();
    const response = await h.call({
      method: 'POST',
      url: '/v1/rule-sets/dry-run',
      payload: { rules: rulesV2 },
      as: 'admin',
    });
    assert.equal(response.statusCode, 200, response.body);
    const report = response.json();
    assert.equal(report.base_version, 1);
    assert.equal(report.listings, 6);
    assert.equal(report.changed, 6);
    const changes = Object.fromEntries(
      report.changes.map((change: any) => [`${change.channel}:${change.sku}`, [change.current, change.proposed]]),
    );
    assert.deepEqual(changes, {
      'shop:A': [15, 11],
      'shop:D': [6, 3],
      'shop:KIT': [2, 0],
      'bol:A': [5, 2],
      'bol:KIT': [2, 1],
      'bol:C': [3, 2],
    });
    assert.deepEqual(report.changes[0], {
      listing_id: ids.get('shop-A'),
      channel: 'shop',
      sku: 'A',
      current: 15,
      proposed: 11,
    });
    const drops = report.changes.map((change: any) => change.proposed - change.current);
    assert.deepEqual(
      drops,
      [...drops].sort((a, b) => a - b),
    );

    const limited = (
      await h.call({ method: 'POST', url: '/v1/rule-sets/dry-run', payload: { rules: rulesV2, limit: 2 }, as: 'admin' })
    ).json();
    assert.equal(limited.changes.length, 2);
    assert.equal(limited.changed, 6);
    assert.deepEqual(await ruleSetState(), before, 'a dry run stores nothing');
  });

  it('activates a version (availability changes) and rolls back to an earlier one (back again)', async () => {
    h.clock.advance(60_000);
    const activated = await h.call({ method: 'POST', url: '/v1/rule-sets/2/activate', as: 'admin' });
    assert.equal(activated.statusCode, 200, activated.body);
    assert.deepEqual(
      activated.json(),
      { variants: 4, listings: 6, changed: 6, rule_version: 2 },
      'every listing shows less under v2',
    );
    assert.deepEqual(await quantities('A'), { 'bol-A': 2, 'shop-A': 11 });
    assert.deepEqual(await quantities('KIT'), { 'bol-KIT': 1, 'shop-KIT': 0 });
    assert.ok((await quantities('D'))['shop-D'] === 3);

    h.clock.advance(60_000);
    const rolledBack = await h.call({
      method: 'POST',
      url: '/v1/rule-sets/1/rollback',
      payload: { note: 'too tight' },
      as: 'admin',
    });
    assert.equal(rolledBack.statusCode, 200, rolledBack.body);
    assert.equal(rolledBack.json().rule_version, 1);
    assert.deepEqual(await quantities('A'), { 'bol-A': 5, 'shop-A': 15 });
    assert.deepEqual(await quantities('KIT'), { 'bol-KIT': 2, 'shop-KIT': 2 });
    const versions = (await h.call({ method: 'GET', url: '/v1/rule-sets', as: 'read' })).json().items;
    assert.deepEqual(
      versions.filter((each: any) => each.active).map((each: any) => each.version),
      [1],
    );

    const later = assertProblem(
      await h.call({ method: 'POST', url: '/v1/rule-sets/2/rollback', as: 'admin' }),
      409,
      'ONH_ERR_NOT_EARLIER',
    );
    assert.equal(later.active_version, 1);
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/rule-sets/1/rollback', as: 'admin' }),
      409,
      'ONH_ERR_NOT_EARLIER',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/rule-sets/99/rollback', as: 'admin' }),
      404,
      'ONH_ERR_RULE_SET_NOT_FOUND',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/rule-sets/99/activate', as: 'admin' }),
      404,
      'ONH_ERR_RULE_SET_NOT_FOUND',
    );
    assertProblem(
      await h.call({ method: 'POST', url: '/v1/rule-sets/1/activate', payload: { reason: 'x' }, as: 'admin' }),
      400,
      'ONH_ERR_VALIDATION',
    );
  });

  it('records who created and activated which version, and when, newest first', async () => {
    const events = (await h.call({ method: 'GET', url: '/v1/rule-sets/events', as: 'read' })).json().items;
    const at = (minutes: number) => new Date(referenceTime + 1_000 + minutes * 60_000).toISOString();
    assert.deepEqual(events, [
      { version: 1, action: 'activated', author: 'admin', note: 'too tight', at: at(4) },
      { version: 2, action: 'activated', author: 'admin', note: null, at: at(3) },
      { version: 2, action: 'created', author: 'admin', note: null, at: at(2) },
      { version: 1, action: 'activated', author: 'admin', note: 'first rules', at: at(1) },
      { version: 1, action: 'created', author: 'admin', note: 'cap bol at 5', at: at(1) },
    ]);
  });

  // --- explain ---------------------------------------------------------------------------------

  it('explains a bundle listing: each location, the limiting component, every rule and its units', async () => {
    await h.call({ method: 'POST', url: '/v1/rule-sets/2/activate', as: 'admin' });
    const response = await h.call({ method: 'GET', url: `/v1/listings/${ids.get('shop-KIT')}/explain`, as: 'read' });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual(
      { ...body, text: undefined },
      {
        listing_id: ids.get('shop-KIT'),
        channel: 'shop',
        sku: 'KIT',
        quantity: 0,
        stored_quantity: 0,
        pool: 2,
        preorder: null,
        rule_version: 2,
        explanation: [
          { step: 'location', location: 'WH1', available: 2, contributes: 2, limited_by: 'B' },
          { step: 'location', location: 'WH2', available: 0, contributes: 0, limited_by: 'B' },
          { step: 'pool', units: 2 },
          { step: 'shares', percent: 20, held_back: 1, parts: [{ source: 'buffer', percent: 20 }] },
          { step: 'buffer', kind: 'fixed', units: 1 },
          { step: 'result', quantity: 0 },
        ],
        text: undefined,
      },
    );
    for (const line of [
      'KIT on shop shows 0 (rule set v2)',
      'WH1: available 2, contributes 2 (limited by component B)',
      'pool: 2',
      '- 1 held back as 20% (buffer 20%)',
      '- 1 fixed buffer',
      '= 0',
    ]) {
      assert.ok(body.text.includes(line), `${line}\n---\n${body.text}`);
    }
  });

  it('explains a capped listing', async () => {
    const body = (await h.call({ method: 'GET', url: `/v1/listings/${ids.get('bol-A')}/explain`, as: 'read' })).json();
    assert.equal(body.quantity, 2);
    assert.equal(body.pool, 10);
    assert.deepEqual(body.explanation.slice(-3), [
      { step: 'buffer', kind: 'fixed', units: 1 },
      { step: 'cap', cap: 2, applied: true },
      { step: 'result', quantity: 2 },
    ]);
    assert.match(body.text, /- 1 fixed buffer\n {2}cap 2: applied\n {2}= 2/);
  });

  // --- refusals --------------------------------------------------------------------------------

  it('refuses rules that mean something impossible with one 422 each, changing nothing', async () => {
    const before = await ruleSetState();
    const dump = await h.store.canonicalDump();
    const cases: { rules: object; path: string }[] = [
      { rules: { channels: { shop: { buffer: { percent: -5 } } } }, path: '/rules/channels/shop/buffer/percent' },
      { rules: { channels: { bol: { cap: -1 } } }, path: '/rules/channels/bol/cap' },
      {
        rules: { channels: { bol: { exclude_locations: ['WH1', 'NOWHERE'] } } },
        path: '/rules/channels/bol/exclude_locations/1',
      },
      { rules: { channels: { amazon: { cap: 1 } } }, path: '/rules/channels/amazon' },
      { rules: { defaults: { buffer: { percent: 150 } } }, path: '/rules/defaults/buffer/percent' },
    ];
    for (const { rules, path } of cases) {
      for (const url of ['/v1/rule-sets', '/v1/rule-sets/dry-run']) {
        const problem = assertProblem(
          await h.call({ method: 'POST', url, payload: { rules }, as: 'admin' }),
          422,
          'ONH_ERR_INVALID_RULES',
        );
        assert.ok(
          problem.errors.some((error: any) => error.path === path && error.message.length > 0),
          `${url} ${JSON.stringify(rules)}: ${JSON.stringify(problem.errors)}`,
        );
      }
    }
    const several = await h.call({
      method: 'POST',
      url: '/v1/rule-sets',
      payload: { rules: { channels: { bol: { cap: -1, buffer: { units: -2 } } } } },
      as: 'admin',
    });
    assert.equal(
      assertProblem(several, 422, 'ONH_ERR_INVALID_RULES').errors.length,
      2,
      'every problem, not just the first',
    );
    assert.deepEqual(await ruleSetState(), before);
    assert.deepEqual(await h.store.canonicalDump(), dump);
  });

  it('refuses rules of the wrong shape with 400 naming the field', async () => {
    const cases: { rules: object; path: string }[] = [
      { rules: { channels: { bol: { cap: '5' } } }, path: '/rules/channels/bol/cap' },
      { rules: { channels: { bol: { capp: 5 } } }, path: '/rules/channels/bol/capp' },
      { rules: { defaults: { buffer: { units: 1.5 } } }, path: '/rules/defaults/buffer/units' },
      { rules: { low_stock: { threshold: 3 } }, path: '/rules/low_stock/listings_max' },
    ];
    for (const { rules, path } of cases) {
      const problem = assertProblem(
        await h.call({ method: 'POST', url: '/v1/rule-sets', payload: { rules }, as: 'admin' }),
        400,
        'ONH_ERR_VALIDATION',
      );
      assert.ok(
        problem.errors.some((error: any) => error.path === path),
        `${JSON.stringify(rules)}: ${JSON.stringify(problem.errors)}`,
      );
    }
  });

  it('enforces scopes: rule sets and channels need admin, listings write, reading read', async () => {
    const forbidden = [
      { method: 'POST', url: '/v1/rule-sets', payload: { rules: rulesV1 }, as: 'write' },
      { method: 'POST', url: '/v1/rule-sets/dry-run', payload: { rules: rulesV1 }, as: 'write' },
      { method: 'POST', url: '/v1/rule-sets/1/activate', as: 'write' },
      { method: 'POST', url: '/v1/rule-sets/1/rollback', as: 'write' },
      {
        method: 'PUT',
        url: '/v1/channels',
        payload: { channels: [{ code: 'x', name: 'X', platform: 'custom', locations: [] }] },
        as: 'write',
      },
      {
        method: 'PUT',
        url: '/v1/listings',
        payload: { listings: [{ channel: 'bol', external_id: 'x', sku: 'A' }] },
        as: 'read',
      },
      {
        method: 'PUT',
        url: '/v1/listing-mappings',
        payload: { mappings: [{ channel: 'bol', external_id: 'x', sku: 'A' }] },
        as: 'read',
      },
    ] as const;
    for (const request of forbidden) {
      const problem = assertProblem(await h.call({ ...request }), 403, 'ONH_ERR_FORBIDDEN');
      assert.match(problem.detail, /needs a (admin|write) token/);
    }
    assert.equal((await h.call({ method: 'GET', url: '/v1/rule-sets', as: 'read' })).json().items.length, 2);
    assertProblem(await h.call({ method: 'GET', url: '/v1/availability/A', as: null }), 401, 'ONH_ERR_UNAUTHENTICATED');
  });

  // --- the ledger recomputes ---------------------------------------------------------------------

  it('reflects a movement at once: the store recomputes in the ledger transaction', async () => {
    // v2 is active. Selling 4 A at WH1 leaves a shop pool of 11: floor(11 x 0.8) - 1 = 7.
    // bol stays capped at 2 (6 - 1 = 5 > 2); the kit keeps 2 at WH1 (B still limits).
    const sale = await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: { movements: [{ key: 'sale-1', type: 'sale', sku: 'A', location: 'WH1', quantity: 4 }] },
    });
    assert.equal(sale.json().results[0].status, 'applied', sale.body);
    assert.deepEqual(await quantities('A'), { 'bol-A': 2, 'shop-A': 7 });
    // A sale of B lowers every kit using it: 2 B at WH1 make 1 kit; bol shows 1 - 1 = 0.
    await h.call({
      method: 'POST',
      url: '/v1/movements',
      payload: { movements: [{ key: 'sale-2', type: 'sale', sku: 'B', location: 'WH1', quantity: 2 }] },
    });
    assert.deepEqual(await quantities('KIT'), { 'bol-KIT': 0, 'shop-KIT': 0 });
    const explained = (
      await h.call({ method: 'GET', url: `/v1/listings/${ids.get('bol-KIT')}/explain`, as: 'read' })
    ).json();
    assert.equal(explained.pool, 1);
    assert.equal(explained.stored_quantity, explained.quantity, 'stored and recomputed agree');
  });
});
