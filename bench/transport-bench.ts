/**
 * bench:transport - what one HTTP exchange with a platform costs the onhand process: the
 * connectors' `HttpTransport` (src/connectors/http-transport.ts) beside two yardsticks, node:http
 * with a keep-alive agent and the global fetch, against the same local server.
 *
 * Why it matters: every push, read-back and order poll is such an exchange; at 200 orders/s on
 * five channels the server sends several per order, so their client cost is a large share of
 * the server's CPU (bench/README.md, "Outbound HTTP" and "Order to every channel").
 *
 * Method: a plain node:http server in a process of its own answers every request with a small
 * JSON body (the shape of a platform's answer). In this process, `--clients` closed-loop callers
 * send `--requests` PUTs of a 150-byte JSON body each, after a warm-up of a tenth as many; the
 * figure is this process's CPU time (process.cpuUsage, user + system) per exchange, steadier
 * than exchanges/s on a shared machine. The three ways take turns, `--rounds` times.
 *
 * Usage: npm run bench:transport [-- --requests 20000 --clients 16 --rounds 2]
 * Prints one JSON line per way and round, then a table. Never asserts timings.
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { HttpTransport } from '../src/connectors/http-transport.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
    // Internal: run as the answering server.
    serve: { type: 'boolean', default: false },
  },
});

if (values.serve) {
  const { createServer } = await import('node:http');
  const server = createServer((incoming, outgoing) => {
    let size = 0;
    incoming.on('data', (chunk: Buffer) => (size += chunk.length));
    incoming.on('end', () => {
      outgoing.setHeader('content-type', 'application/json');
      outgoing.end(`{"processStatusId":"1","status":"PENDING","received":${size}}`);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  });
} else {
  const requests = Number(values.requests);
  const clients = Number(values.clients);
  const rounds = Number(values.rounds);
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const url = `http://127.0.0.1:${port}/retailer/offers/1/stock?x=1`;
  const body = JSON.stringify({ amount: 12, managedByRetailer: true, note: 'x'.repeat(100) });
  const headers = { 'content-type': 'application/json', authorization: 'Bearer bench' };

  const transport = new HttpTransport();
  const agent = new Agent({ keepAlive: true, maxSockets: 64, scheduling: 'lifo' });
  const ways: Record<string, () => Promise<number>> = {
    HttpTransport: async () => {
      const answer = await transport.send({ method: 'PUT', url, headers, body, timeoutMs: 10_000 });
      if (answer.kind !== 'answer') throw new Error(answer.reason);
      return answer.status;
    },
    'node:http, keep-alive agent': () =>
      new Promise((resolve, reject) => {
        const outgoing = request(
          url,
          { method: 'PUT', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
          (incoming) => {
            const chunks: Buffer[] = [];
            incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
            incoming.on('end', () => {
              Buffer.concat(chunks).toString('utf8');
              resolve(incoming.statusCode ?? 0);
            });
          },
        );
        const timer = setTimeout(() => outgoing.destroy(new Error('timeout')), 10_000);
        outgoing.on('close', () => clearTimeout(timer));
        outgoing.on('error', reject);
        outgoing.end(body);
      }),
    fetch: async () => {
      const response = await fetch(url, { method: 'PUT', headers, body, signal: AbortSignal.timeout(10_000) });
      await response.text();
      return response.status;
    },
  };

  async function load(send: () => Promise<number>, count: number): Promise<void> {
    let started = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (started < count) {
          started += 1;
          const status = await send();
          if (status !== 200) throw new Error(`status ${status}`);
        }
      }),
    );
  }

  const results: { way: string; round: number; per_s: number; cpu_us: number }[] = [];
  for (let round = 1; round <= rounds; round += 1)
    for (const [way, send] of Object.entries(ways)) {
      await load(send, Math.ceil(requests / 10));
      const cpu = process.cpuUsage();
      const started = performance.now();
      await load(send, requests);
      const elapsed = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const result = {
        way,
        round,
        per_s: Math.round((requests / elapsed) * 1000),
        cpu_us: Number(((used.user + used.system) / requests).toFixed(1)),
      };
      results.push(result);
      console.log(JSON.stringify({ bench: 'transport', clients, requests, ...result }));
    }
  transport.close();
  agent.destroy();
  child.kill();

  console.log('\n| way | round | exchanges/s | client CPU us per exchange | vs HttpTransport (CPU) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) {
    const own = results.find((x) => x.way === 'HttpTransport' && x.round === r.round)!;
    console.log(`| ${r.way} | ${r.round} | ${r.per_s} | ${r.cpu_us} | ${(r.cpu_us / own.cpu_us).toFixed(2)}x |`);
  }
}
