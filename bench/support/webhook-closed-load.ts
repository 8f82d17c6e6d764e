/**
 * Load generator for bench:webhooks, run as its own process so that client work does not share
 * the server's event loop (as http-load.ts for reservations). Closed loop: `clients` clients,
 * each sends one request and waits for the answer before sending the next, until `count`
 * requests are answered. node:http with a keep-alive agent. Two modes, so one client measures
 * both sides of the ratio:
 * - `healthz`: GET /healthz;
 * - `webhooks`: signed Shopify orders/create deliveries to POST /webhooks/shopify/<channel>,
 *   order `first + i` for i < count, each with 1 or 2 lines (alternately), every body built and
 *   signed before the clock starts (the REST Order shape of sim/shopify/order-book.ts).
 *
 * argv[2] is the JSON of a LoadSpec. Prints one JSON line: statuses, requests/s, p50/p99 ms and,
 * for webhooks, the answers' counts summed (events, changed, unchanged, blocked, invalid).
 */
import http from 'node:http';
import { orderCreateHeaders, orderIdBase, orderLines, restOrderBody } from './webhook-orders.js';

export interface LoadSpec {
  mode: 'healthz' | 'webhooks';
  url: string;
  clients: number;
  count: number;
  /** webhooks: the channel code, its shop and webhook secret. */
  channel?: string;
  shopDomain?: string;
  secret?: string;
  /** webhooks: numeric Shopify variant ids with their skus, the lines' items. */
  variants?: { id: string; sku: string }[];
  /** webhooks: index of the first order (orders first .. first + count - 1). */
  first?: number;
  /** webhooks: prefix of the X-Shopify-Webhook-Id values (a redelivery sends the same orders under new ids). */
  deliveryPrefix?: string;
  /** webhooks: the orders' created_at (ISO 8601), the same for a redelivery as for the first delivery. */
  createdAt?: string;
}

function orderBody(index: number, variants: readonly { id: string; sku: string }[], createdAt: string): string {
  return restOrderBody({
    id: orderIdBase + index,
    number: 1000 + index,
    createdAt,
    lines: orderLines(index, variants.length).map(({ variant, lineId, quantity }) => ({
      lineId,
      variantId: Number(variants[variant]!.id),
      productId: 8_000_000_000 + variant,
      sku: variants[variant]!.sku,
      quantity,
    })),
  });
}

interface Request {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string | number>;
  body?: Buffer;
}

function requests(spec: LoadSpec): (index: number) => Request {
  if (spec.mode === 'healthz') return () => ({ method: 'GET', path: '/healthz', headers: {} });
  const variants = spec.variants!;
  const createdAt = spec.createdAt ?? new Date().toISOString();
  const built: Request[] = [];
  for (let index = 0; index < spec.count; index += 1) {
    const order = spec.first! + index;
    const body = Buffer.from(orderBody(order, variants, createdAt));
    built.push({
      method: 'POST',
      path: `/webhooks/shopify/${spec.channel}`,
      body,
      headers: orderCreateHeaders({
        body,
        secret: spec.secret!,
        shopDomain: spec.shopDomain!,
        webhookId: `${spec.deliveryPrefix ?? 'delivery'}-${order}`,
        eventId: `event-${order}`,
        triggeredAt: createdAt,
      }),
    });
  }
  return (index) => built[index]!;
}

async function run(spec: LoadSpec) {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.clients });
  const latencies = new Float64Array(spec.count);
  const statuses: Record<string, number> = {};
  const answers = { events: 0, changed: 0, unchanged: 0, blocked: 0, invalid: 0 };
  const readBody = spec.mode === 'webhooks';
  const next = requests(spec);
  let issued = 0;
  let answered = 0;

  const send = (request: Request): Promise<number> =>
    new Promise((resolve, reject) => {
      const outgoing = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: request.path,
          method: request.method,
          headers: request.headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          if (readBody) response.on('data', (chunk: Buffer) => chunks.push(chunk));
          else response.resume();
          response.on('end', () => {
            if (readBody && response.statusCode === 200) {
              const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, number>;
              answers.events += answer.events ?? 0;
              answers.changed += answer.changed ?? 0;
              answers.unchanged += answer.unchanged ?? 0;
              answers.blocked += answer.blocked ?? 0;
              answers.invalid += answer.invalid ?? 0;
            }
            resolve(response.statusCode ?? 0);
          });
        },
      );
      outgoing.setTimeout(60_000, () => outgoing.destroy(new Error('no answer within 60 s')));
      outgoing.on('error', reject);
      outgoing.end(request.body);
    });

  async function client() {
    while (issued < spec.count) {
      const index = issued++;
      const started = performance.now();
      const status = await send(next(index));
      latencies[answered++] = performance.now() - started;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.clients }, () => client()));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort();
  const at = (p: number) => Number(latencies[Math.min(answered - 1, Math.floor((p / 100) * answered))]!.toFixed(2));
  return {
    statuses,
    requests_per_s: Math.round(answered / elapsed),
    p50_ms: at(50),
    p99_ms: at(99),
    seconds: Number(elapsed.toFixed(2)),
    ...(readBody ? { answers } : {}),
  };
}

if (process.argv[2] !== undefined) console.log(JSON.stringify(await run(JSON.parse(process.argv[2]) as LoadSpec)));
