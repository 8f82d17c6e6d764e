/**
 * A dispatcher in its own OS process, for the crash tests: opens the store named in argv,
 * connects every channel from its settings (as `onhand serve` does) and pushes until killed.
 * Sends "ready" once running.
 */
import { channelRuntime } from '../../src/main.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Propagation, type ChannelRuntime } from '../../src/sync/propagation.js';
import { defaultRetryPolicy } from '../../src/sync/retry-policy.js';

const [database, owner] = process.argv.slice(2) as [string, string];
const store: LedgerStore = database.startsWith('postgres') ? new PostgresStore({ connectionString: database }) : new SqliteStore({ filename: database });
const clock = { now: () => Date.now() };
let ids = 0;
const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${owner}_${++ids}` });
const channels = (await store.listChannels())
  .map((channel) => channelRuntime(channel, clock))
  .filter((runtime): runtime is ChannelRuntime => runtime !== undefined)
  .map((runtime) => ({ channel: runtime.channel, connector: runtime.connector })); // pushes only
const propagation = new Propagation({ store, ledger, clock, owner, policy: defaultRetryPolicy, channels, onError: () => undefined });
propagation.start();
process.send?.('ready');
