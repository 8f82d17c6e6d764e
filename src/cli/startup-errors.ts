/**
 * Start-up failures an operator causes and can fix, as one line naming the setting and the fix
 * (exit code 2, no stack trace): the port taken, PostgreSQL unreachable or missing the database
 * or the role, the SQLite file's directory missing. Anything else is not recognised here and
 * stays a bug report with its stack.
 *
 * Recognised by the codes the drivers set (Node's `EADDRINUSE`, PostgreSQL's SQLSTATE), never
 * by `instanceof`: pg's and Node's error classes are not ours (docs/ARCHITECTURE.md).
 */

interface DriverError {
  code?: string;
  message?: string;
  address?: string;
  port?: number;
  hostname?: string;
  directory?: string;
  /** The setting an address came from, when not --port / --host (main.ts sets it for --metrics-listen). */
  setting?: string;
  errors?: DriverError[];
}

const database = '--database (env DATABASE_URL / ONHAND_DATABASE)';

/** The one-line message for a known start-up failure, or `undefined` for anything else. */
export function startupFailureMessage(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  // Node 20 connects to every address of a host name and reports an AggregateError of them.
  const failure = error as DriverError;
  const first = failure.errors?.[0];
  const code = failure.code ?? first?.code;
  const where = failure.address ?? first?.address;
  const port = failure.port ?? first?.port;
  switch (code) {
    case 'EADDRINUSE':
      return `${failure.setting ?? '--port (env ONHAND_PORT)'}: ${where ?? 'the address'}:${port ?? '?'} is already in use by another process; stop it or choose another port`;
    case 'EADDRNOTAVAIL':
      return `${failure.setting ?? '--host (env ONHAND_HOST)'}: ${where ?? 'the address'} is not an address of this machine; use one it has (127.0.0.1, 0.0.0.0)`;
    case 'EACCES':
      if (failure.message?.includes('listen'))
        return `${failure.setting ?? '--port (env ONHAND_PORT)'}: port ${port ?? '?'} needs privileges this process lacks; use a port above 1023`;
      return undefined;
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${database}: PostgreSQL at ${where ?? '?'}:${port ?? '?'} is unreachable (${code}); start it, or fix the host and port in the URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${database}: the PostgreSQL host ${failure.hostname ?? first?.hostname ?? '?'} is unknown (${code}); fix the host in the URL`;
    case '3D000':
      return `${database}: ${failure.message}; create it (createdb <name>) or name an existing database in the URL`;
    case '28000':
      return `${database}: ${failure.message}; create it (createuser <name>) or name an existing role as the URL's user`;
    case '28P01':
      return `${database}: ${failure.message}; fix the password in the URL`;
    case 'SQLITE_DIRECTORY_MISSING':
      return `${database}: ${failure.message}; create it (mkdir -p ${failure.directory ?? '<directory>'}) or choose another path`;
    case 'SQLITE_CANTOPEN':
      return `${database}: SQLite cannot open the file (${failure.message}); check the path and its permissions`;
    default:
      return undefined;
  }
}
