// Takes the dashboard screenshots of README.md (docs/screenshots/*.png) against `onhand serve
// --demo` in a scratch directory, with the system's Chromium through playwright-core (never a
// downloaded browser). Usage: npm run build && node scripts/screenshots.mjs
// CHROMIUM=/path/to/chromium overrides /usr/bin/chromium.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const out = 'docs/screenshots';
mkdirSync(out, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'onhand-screens-'));

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const server = spawn(
  process.execPath,
  [
    'dist/src/main.js',
    'serve',
    '--demo',
    '--port',
    String(port),
    '--database',
    join(scratch, 'demo.db'),
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const token = await new Promise((resolve, reject) => {
  let text = '';
  const timer = setTimeout(() => reject(new Error(`no admin token printed:\n${text}`)), 30_000);
  server.stdout.on('data', (chunk) => {
    text += chunk;
    const match = /onh_admin_[A-Za-z0-9_-]{43}/.exec(text);
    if (match && text.includes('Server listening') === false && text.includes('API')) {
      clearTimeout(timer);
      resolve(match[0]);
    }
  });
  server.on('exit', (code) => reject(new Error(`onhand exited with ${code}:\n${text}`)));
});
const base = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(base);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=overview]');
  // Let a few demo orders and pushes happen, so the figures are not all zero.
  await page.waitForTimeout(8000);
  await page.reload();
  await page.waitForSelector('[data-testid^=channel-card-]');
  await page.screenshot({ path: `${out}/overview.png`, fullPage: true });
  await page.goto(`${base}/#/stock`);
  await page.waitForSelector('[data-testid^=stock-row-]');
  await page.screenshot({ path: `${out}/stock.png` });
  await page.goto(`${base}/#/variant/TEE-RED-M`);
  await page.waitForSelector('[data-testid=variant-listings] ol');
  await page.screenshot({ path: `${out}/variant.png`, fullPage: true });
  await page.goto(`${base}/#/channels/shop`);
  await page.waitForSelector('[data-testid=channel-queue]');
  await page.screenshot({ path: `${out}/channel.png`, fullPage: true });
  await page.goto(`${base}/#/rules`);
  await page.click('[data-testid=rule-open-1]');
  await page.click('[data-testid=rule-dry-run]');
  await page.waitForSelector('[data-testid=dry-run-summary]');
  await page.screenshot({ path: `${out}/rules.png`, fullPage: true });
  console.log(`screenshots written to ${out}/`);
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
}
