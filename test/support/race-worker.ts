/**
 * A separate OS process for the multi-process races: opens its own store on the database
 * named in argv, waits for the parent's "go" (a barrier, so every process starts together),
 * fires its share of reservation requests concurrently through its own GroupCommitter, and
 * sends back the answers.
 */
import { GroupCommitter } from '../../src/store/group-commit.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { LedgerStore } from '../../src/store/ledger-store.js';

const [database, processIndex, requests, sku, location] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const store: LedgerStore = database.startsWith('postgres')
  ? new PostgresStore({ connectionString: database, poolSize: 10 })
  : new SqliteStore({ filename: database });
let counter = 0;
const ledger = new GroupCommitter(
  store,
  { now: () => Date.now() },
  { next: (prefix) => `${prefix}_p${processIndex}_${++counter}` },
);

process.on('message', async (message: { go?: boolean }) => {
  if (!message.go) return;
  const submissions = Array.from({ length: Number(requests) }, (_, index) =>
    ledger.submit([
      {
        type: 'reserve',
        key: `race-${sku}-p${processIndex}-${index}`,
        payloadHash: `${sku}-p${processIndex}-${index}`,
        sku,
        location,
        quantity: 1,
      },
    ]),
  );
  const answers = (await Promise.all(submissions)).flat();
  process.send!({ statuses: answers.map((answer) => answer.status) }, () => {
    void ledger
      .close()
      .then(() => store.close())
      .then(() => process.exit(0));
  });
});
process.send!({ ready: true });
