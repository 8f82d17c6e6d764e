/**
 * Open-loop Shopify order load for bench:order-latency, in its own process so that signing and
 * sending do not share the server's event loop or steal its turns. IPC in: one WebhookLoadPlan;
 * out: one WebhookLoadResult. Orders are `orders/create` deliveries exactly as Shopify sends them
 * (REST Order body, X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256 of the raw body under the app's
 * secret, topic, shop domain, webhook id, event id, API version, triggered-at), one to three
 * lines of one unit each on distinct variants picked by a seeded PRNG. They are sent at `rate`
 * per second by the clock, whatever the answers take (open loop), until `seconds` have passed
 * or `count` orders are out, over keep-alive sockets (node:http: fetch costs several times more
 * CPU per request).
 */
import { randomUUID } from 'node:crypto';
import { orderCreateHeaders, restOrderBody } from './webhook-orders.js';
import http from 'node:http';
import { mulberry32 } from '../../sim/prng.js';

export interface WebhookLoadPlan {
  /** http://127.0.0.1:<port>/webhooks/shopify/<channel> */
  url: string;
  secret: string;
  shopDomain: string;
  /** Numeric Shopify variant ids (REST `variant_id`) and the skus Shopify shows for them. */
  variants: { variantId: string; sku: string }[];
  rate: number;
  seconds: number;
  count: number;
  seed: number;
  /** Sockets at most; more orders due than sockets wait in the agent's queue (their clock runs). */
  sockets: number;
  /** How long after the last send answers are waited for; later ones count as failed (-1). */
  answerWaitMs: number;
}

export interface WebhookLoadResult {
  /**
   * Per order: the variant indexes of its lines, when it was sent (ms since the epoch), its answer
   * (the HTTP status; -1: none, the connection failed or the wait for it ran out).
   */
  orders: { lines: number[]; sentAt: number; answeredAt: number; status: number }[];
  seconds: number;
}

const linesMax = 3;
const nonce = Date.now() % 1_000_000;

function orderBody(plan: WebhookLoadPlan, index: number, lines: number[], at: number): string {
  return restOrderBody({
    id: 5_600_000_000_000 + nonce * 1_000_000 + index,
    number: 1001 + index,
    createdAt: new Date(at).toISOString(),
    lines: lines.map((variant, line) => ({
      lineId: 14_000_000_000_000 + (nonce * 1_000_000 + index) * linesMax + line,
      variantId: Number(plan.variants[variant]!.variantId),
      sku: plan.variants[variant]!.sku,
      quantity: 1,
    })),
  });
}

async function run(plan: WebhookLoadPlan): Promise<WebhookLoadResult> {
  const url = new URL(plan.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: plan.sockets });
  const random = mulberry32(plan.seed);
  const orders: WebhookLoadResult['orders'] = [];
  const answers: Promise<void>[] = [];
  const send = (index: number) => {
    const lineCount = Math.min(plan.variants.length, 1 + Math.floor(random() * linesMax));
    const lines: number[] = [];
    while (lines.length < lineCount) {
      const pick = Math.floor(random() * plan.variants.length);
      if (!lines.includes(pick)) lines.push(pick);
    }
    const sentAt = Date.now();
    const body = orderBody(plan, index, lines, sentAt);
    const order = { lines, sentAt, answeredAt: 0, status: 0 };
    orders.push(order);
    answers.push(
      new Promise<void>((resolve) => {
        const request = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              ...orderCreateHeaders({
                body,
                secret: plan.secret,
                shopDomain: plan.shopDomain,
                webhookId: randomUUID(),
                eventId: randomUUID(),
                triggeredAt: new Date(sentAt).toISOString(),
              }),
              'user-agent': 'Shopify-Captain-Hook',
            },
            timeout: 30_000,
          },
          (response) => {
            response.resume();
            response.on('end', () => {
              order.answeredAt = Date.now();
              order.status = response.statusCode ?? 0;
              resolve();
            });
          },
        );
        request.on('timeout', () => request.destroy(new Error('timeout')));
        request.on('error', () => {
          order.answeredAt = Date.now();
          order.status = -1;
          resolve();
        });
        request.end(body);
      }),
    );
  };
  const started = Date.now();
  let sent = 0;
  while (sent < plan.count && Date.now() < started + plan.seconds * 1000) {
    const due = Math.min(plan.count, Math.floor(((Date.now() - started) / 1000) * plan.rate));
    for (; sent < due; sent += 1) send(sent);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const seconds = (Date.now() - started) / 1000;
  // Bounded: what has no answer `answerWaitMs` after the last send is given up (status -1).
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(answers),
    new Promise((resolve) => {
      timer = setTimeout(resolve, plan.answerWaitMs);
    }),
  ]);
  clearTimeout(timer);
  agent.destroy();
  for (const order of orders)
    if (order.status === 0) {
      order.status = -1;
      order.answeredAt = Date.now();
    }
  return { orders, seconds };
}

process.once('message', (plan: WebhookLoadPlan) => {
  void run(plan).then((result) => process.send!(result, () => process.exit(0)));
});
