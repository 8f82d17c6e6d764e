/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM), driven by
 * playwright-core; never a downloaded browser. The server is the SQLite HTTP harness listening
 * on a loopback port (its fake clock pinned), so tests can change state through the API or the
 * store while the page shows it. Each browser gets a fresh user-data-dir.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { TokenScope } from '../../src/store/ledger-store.js';
import { startHttpHarness, type HttpHarness } from './http-harness.js';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserHarness {
  h: HttpHarness;
  base: string;
  /** A fresh browser context (own cookies), its page signed in with the scope's token. */
  signedIn(scope: TokenScope): Promise<Page>;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function startBrowserHarness(
  options: Parameters<typeof startHttpHarness>[0] = {},
): Promise<BrowserHarness> {
  const h = await startHttpHarness(options);
  await h.seedCatalogue();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  const contexts: { context: BrowserContext; directory: string }[] = [];
  async function newPage(): Promise<Page> {
    const directory = mkdtempSync(join(tmpdir(), 'onhand-chromium-'));
    const context = await chromium.launchPersistentContext(directory, {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: chromiumArgs,
      headless: true,
      viewport: { width: 1280, height: 900 },
    });
    contexts.push({ context, directory });
    context.setDefaultTimeout(10_000);
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => {
      throw error;
    });
    return page;
  }
  return {
    h,
    base,
    newPage,
    async signedIn(scope) {
      const page = await newPage();
      await page.goto(base);
      await page.fill('#token', h.tokens[scope]);
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-testid=whoami]');
      assert.match((await page.textContent('[data-testid=whoami]')) ?? '', new RegExp(`\\(${scope}\\)`));
      await page.waitForSelector('[data-testid=live].on');
      return page;
    },
    async close() {
      for (const { context, directory } of contexts) {
        await context.close();
        rmSync(directory, { recursive: true, force: true });
      }
      await h.close();
    },
  };
}
