import { prettyFactory } from 'pino-pretty';

/**
 * Where the log goes and how it reads. On a terminal (stdout a TTY) each line is formatted by
 * pino-pretty, in this process and synchronously (`prettyFactory`, not the worker-thread
 * transport: a line is on the screen before the next statement, and a crash loses nothing);
 * anywhere else (a pipe, a file, journald, a container runtime) one JSON object per line, as
 * pino writes it, for the log shipper.
 */

/** What the log writes to: process.stdout, or a buffer in tests. */
export interface LogOutput {
  isTTY?: boolean | undefined;
  write(text: string): unknown;
}

/** A pino destination: `{ write(line) }` receives each serialised JSON line. */
export function logDestination(output: LogOutput): { write(line: string): void } {
  if (!output.isTTY) return { write: (line) => void output.write(line) };
  const pretty = prettyFactory({
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return { write: (line) => void output.write(pretty(line)) };
}
