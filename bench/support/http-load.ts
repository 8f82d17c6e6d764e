/**
 * Load generator for the HTTP benches, run as its own process so that client work does not
 * share the server's event loop. Closed loop: `concurrency` clients, each POSTs one
 * reservation and waits for the answer before sending the next, until `count` requests are
 * sent. node:http with a keep-alive agent (global fetch costs several times more CPU per
 * request, and on 2 cores the client then limits the figure). Prints one JSON line.
 *
 * `location` is a location code, `channel:<code>` to reserve by channel, or `healthz` to GET
 * /healthz instead (the same client's rate on the cheapest route: the yardstick).
 */
import http from 'node:http';

const [baseUrls, token, concurrency, count, sku, location, keyPrefix] = process.argv.slice(2) as string[];
const urls = baseUrls!.split(',').map((url) => new URL(url));
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const latencies: number[] = [];
const statuses: Record<string, number> = {};
let issued = 0;

const healthz = location === 'healthz';
const channel = location?.startsWith('channel:') ? location.slice('channel:'.length) : undefined;

function post(url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      healthz
        ? { agent, host: url.hostname, port: url.port, path: '/healthz', method: 'GET' }
        : {
            agent,
            host: url.hostname,
            port: url.port,
            path: '/v1/reservations',
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(healthz ? undefined : body);
  });
}

async function client(id: number) {
  while (issued < Number(count)) {
    const index = issued++;
    const started = performance.now();
    const status = await post(
      urls[index % urls.length]!,
      JSON.stringify(
        channel === undefined
          ? { key: `${keyPrefix}-${id}-${index}`, sku, location, quantity: 1 }
          : { key: `${keyPrefix}-${id}-${index}`, sku, channel, quantity: 1 },
      ),
    );
    latencies.push(performance.now() - started);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, (_, id) => client(id)));
const elapsed = (performance.now() - started) / 1000;
agent.destroy();
latencies.sort((a, b) => a - b);
const at = (p: number) =>
  Number(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2));
console.log(
  JSON.stringify({ statuses, requests_per_s: Math.round(latencies.length / elapsed), p50_ms: at(50), p99_ms: at(99) }),
);
