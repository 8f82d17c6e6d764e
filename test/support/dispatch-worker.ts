/**
 * A dispatcher in its own OS process, for the crash tests: opens the store named in argv,
 * connects every channel from its settings (as `onhand serve` does) and pushes until killed.
 * Sends "ready" once loaded and starts pushing on the parent's first message. A third argument
 * runs its clock that many ms ahead of the real one: a survivor started with the lease TTL
 * finds the killed owner's lease already expired, as it would have after waiting that long.
 */
import { channelRuntime } from '../../src/main.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Propagation, type ChannelRuntime } from '../../src/sync/propagation.js';
import { defaultRetryPolicy } from '../../src/sync/retry-policy.js';

const [database, owner, aheadMs = '0'] = process.argv.slice(2) as [string, string, string?];
const store: LedgerStore = database.startsWith('postgres')
  ? new PostgresStore({ connectionString: database })
  : new SqliteStore({ filename: database });
const clock = { now: () => Date.now() + Number(aheadMs) };
let ids = 0;
const ledger = new GroupCommitter(store, clock, { next: (prefix) => `${prefix}_${owner}_${++ids}` });
const channels = (await store.availability.listChannels())
  .map((channel) => channelRuntime(channel, clock))
  .filter((runtime): runtime is ChannelRuntime => runtime !== undefined)
  .map((runtime) => ({ channel: runtime.channel, connector: runtime.connector })); // pushes only
const propagation = new Propagation({
  store,
  ledger,
  clock,
  owner,
  policy: defaultRetryPolicy,
  channels,
  onError: () => undefined,
});
// Started ahead of its turn (loading the modules takes the longest): it pushes from "go" on.
process.once('message', () => propagation.start());
process.send?.('ready');
