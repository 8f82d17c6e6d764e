/**
 * Goal: every shell example of README.md runs as written against the demo a new user starts.
 *
 * Method:
 * 1. Take every ```sh block of README.md. A block preceded by `<!-- not-run: reason -->` (an
 *    installation, a long-running server) is skipped with its reason; every other block runs.
 * 2. Start the built binary as `onhand serve --demo --port 0` on a fresh SQLite file and read
 *    the address and the one-time admin token from its banner.
 * 3. Run each block with `bash` under `set -euo pipefail`, in the order of the README, from the
 *    repository root (where `npx onhand` finds the CLI), with the variables the README's own
 *    set-up block names: ONHAND_URL, TOKEN and ONHAND_DATABASE. `curl` on the PATH is a wrapper
 *    of the real one that adds `--max-time` (an example's own wins) and reports each answer's
 *    status on stderr, so a 5xx fails the block even where the example does not use `-f`.
 * 4. A block passes when it exits 0 within its time bound and no curl was answered 5xx.
 * The last test prints how many blocks ran and how many were skipped.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt } from '../support/built-binary.js';

const repositoryRoot = new URL('../../', import.meta.url).pathname;
const blockTimeoutMs = 90_000;
const curlTimeoutS = 20;
const statusMarker = 'readme-example-curl-status';

export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  script: string;
  /** Why the block is not run, when it is marked so. */
  notRun?: string;
}

/**
 * The ```sh blocks of a markdown text, each with the reason of the `<!-- not-run: ... -->`
 * comment on the last non-blank line before it, if any. A marker without a reason is refused.
 */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const fence = /^(`{3,})(\S*)\s*$/.exec(lines[index]!);
    if (!fence) continue;
    const end = lines.findIndex((text, at) => at > index && text.startsWith(fence[1]!) && text.trim() === fence[1]);
    assert.ok(end > index, `README.md:${index + 1}: a code block that is never closed`);
    if (fence[2] === 'sh') {
      let before = index - 1;
      while (before >= 0 && lines[before]!.trim() === '') before--;
      const marker = before >= 0 ? /^<!--\s*not-run:(.*?)-->\s*$/.exec(lines[before]!.trim()) : null;
      const block: ShellBlock = { line: index + 1, script: lines.slice(index + 1, end).join('\n') };
      if (marker) {
        assert.ok(marker[1]!.trim() !== '', `README.md:${before + 1}: a not-run marker needs a reason`);
        block.notRun = marker[1]!.trim();
      }
      blocks.push(block);
    }
    index = end;
  }
  return blocks;
}

/** Statuses of the answers the curl wrapper reported, and stderr without its report lines. */
function curlAnswers(stderr: string): { statuses: { status: number; url: string }[]; rest: string } {
  const statuses: { status: number; url: string }[] = [];
  const rest: string[] = [];
  for (const line of stderr.split('\n')) {
    const match = new RegExp(`^${statusMarker} (\\d{3}) (.*)$`).exec(line);
    if (match) statuses.push({ status: Number(match[1]), url: match[2]! });
    else rest.push(line);
  }
  return { statuses, rest: rest.join('\n') };
}

function runBlock(
  script: string,
  environment: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], {
      cwd: repositoryRoot,
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${blockTimeoutMs} ms]`;
      child.kill('SIGKILL');
    }, blockTimeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('shellBlocks: reading the README', () => {
  it('keeps every sh block, with the reason of a not-run marker right before it', () => {
    const planted = [
      '```sh',
      'echo one',
      '```',
      '<!-- not-run: starts a server -->',
      '',
      '```sh',
      'npm start',
      '```',
      '```json',
      '{"sh": true}',
      '```',
      '```sh',
      'echo three',
      '```',
    ].join('\n');
    assert.deepEqual(shellBlocks(planted), [
      { line: 1, script: 'echo one' },
      { line: 6, script: 'npm start', notRun: 'starts a server' },
      { line: 12, script: 'echo three' },
    ]);
    assert.throws(() => shellBlocks('<!-- not-run: -->\n```sh\nnpm start\n```'), /needs a reason/);
  });
});

describe('README.md shell examples against `onhand serve --demo`', { concurrency: false }, () => {
  const blocks = shellBlocks(readFileSync(join(repositoryRoot, 'README.md'), 'utf8'));
  let directory: string;
  let server: ChildProcess | undefined;
  let banner = '';
  let environment: NodeJS.ProcessEnv;
  let ran = 0;

  before(async () => {
    const binary = ensureBuilt();
    directory = mkdtempSync(join(tmpdir(), 'onhand-readme-'));
    const database = join(directory, 'onhand.db');
    const realCurl = execFileSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).trim();
    const bin = join(directory, 'bin');
    execFileSync('mkdir', [bin]);
    writeFileSync(
      join(bin, 'curl'),
      `#!/usr/bin/env bash\nexec ${realCurl} --max-time ${curlTimeoutS} --write-out '%{stderr}${statusMarker} %{http_code} %{url_effective}\\n' "$@"\n`,
    );
    chmodSync(join(bin, 'curl'), 0o755);
    const started = spawn(
      process.execPath,
      [binary, 'serve', '--demo', '--port', '0', '--database', database, '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: '', ONHAND_DATABASE: '' } },
    );
    server = started;
    started.stdout.on('data', (chunk) => (banner += chunk));
    started.stderr.on('data', (chunk) => (banner += chunk));
    for (let waited = 0; !banner.includes('API docs'); waited += 50) {
      if (waited > 30_000 || started.exitCode !== null) throw new Error(`serve --demo did not start:\n${banner}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const address = /API +(http:\/\/\S+)\/v1/.exec(banner)?.[1];
    const token = /onh_admin_\S+/.exec(banner)?.[0];
    assert.ok(address && token, banner);
    environment = {
      ...process.env,
      PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
      ONHAND_URL: address,
      TOKEN: token,
      DATABASE_URL: '',
      ONHAND_DATABASE: database,
      // npx finds the repository's own `onhand`; it must never reach for the registry.
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    };
  });

  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  for (const block of blocks) {
    const title = `README.md:${block.line} ${block.script.split('\n')[0]!.slice(0, 60)}`;
    if (block.notRun) {
      it(title, { skip: `not-run: ${block.notRun}` }, () => undefined);
      continue;
    }
    it(title, async () => {
      const result = await runBlock(block.script, environment);
      const { statuses, rest } = curlAnswers(result.stderr);
      const report = `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${rest}\n--- server\n${banner.slice(-2000)}`;
      assert.equal(result.code, 0, report);
      assert.deepEqual(
        statuses.filter((answer) => answer.status >= 500),
        [],
        `no curl may be answered 5xx\n${report}`,
      );
      ran++;
    });
  }

  it('runs every block that is not marked not-run', (t) => {
    const skipped = blocks.filter((block) => block.notRun).length;
    t.diagnostic(`README.md: ${blocks.length} sh blocks, ${ran} run, ${skipped} skipped`);
    assert.ok(blocks.length > skipped, 'the README has runnable examples');
    assert.equal(ran, blocks.length - skipped);
  });
});
