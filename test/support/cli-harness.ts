import { runCli, type CliOutput, type CliRuntime } from '../../src/cli/onhand.js';
import { openStore } from '../../src/main.js';

/**
 * The `onhand` command in-process: the same commander program, the composition root's real
 * `openStore`, and buffers for stdout and stderr. A run costs milliseconds where a process
 * through tsx cost about a second. `serve` needs a real process (signals, the banner on
 * stdout, process.exit): test/cli/onhand-binary.test.ts starts the built binary for it.
 */

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function buffer(tty = false): CliOutput & { text: string } {
  return {
    isTTY: tty,
    text: '',
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

/**
 * Run `onhand <args>`. The environment is the test's with DATABASE_URL and ONHAND_DATABASE
 * blanked (so `--database` decides) and `env` on top, as the process-based tests gave it.
 * `options.tty`: stderr claims to be a terminal (progress bars draw on it).
 */
export async function onhand(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: { tty?: boolean } = {},
): Promise<CliResult> {
  const stdout = buffer();
  const stderr = buffer(options.tty);
  const runtime: CliRuntime = {
    openStore,
    serve: async () => {
      throw new Error('serve runs as a process: see test/cli/onhand-binary.test.ts');
    },
    stdout,
    stderr,
    env: { ...process.env, DATABASE_URL: '', ONHAND_DATABASE: '', ...env },
  };
  const code = await runCli(runtime, ['node', 'onhand', ...args]);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
