-- Propagation: the outbox is the listing_quantities row itself (one row per listing, holding the
-- newest desired quantity, written in the ledger transaction only when it changes), plus what
-- the dispatcher needs to push it: what the channel acknowledged, what it last showed, the
-- dispatch state, attempts and the next due time. Ten changes while a channel is throttled stay
-- one row: one push.

ALTER TABLE listing_quantities ADD COLUMN desired_version INTEGER NOT NULL DEFAULT 1;
-- The desired value the channel acknowledged, and its version.
ALTER TABLE listing_quantities ADD COLUMN pushed_quantity INTEGER;
ALTER TABLE listing_quantities ADD COLUMN pushed_version INTEGER NOT NULL DEFAULT 0;
-- What the channel last showed (read back, or answered by a compare-and-set): the compare value.
ALTER TABLE listing_quantities ADD COLUMN channel_quantity INTEGER;
-- pending: to push; done: the channel shows desired_version; dead: dead letter (kept, with the newest desired value).
ALTER TABLE listing_quantities ADD COLUMN dispatch_state TEXT NOT NULL DEFAULT 'pending' CHECK (dispatch_state IN ('pending', 'done', 'dead'));
ALTER TABLE listing_quantities ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE listing_quantities ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
-- The oldest change not yet acknowledged: latency and "oldest pending" are measured from here.
ALTER TABLE listing_quantities ADD COLUMN pending_since INTEGER;
ALTER TABLE listing_quantities ADD COLUMN last_error TEXT;
ALTER TABLE listing_quantities ADD COLUMN pushed_at INTEGER;
-- The process (and its lease epoch) that claimed the row for a push in flight.
ALTER TABLE listing_quantities ADD COLUMN claimed_epoch INTEGER;
ALTER TABLE listing_quantities ADD COLUMN claimed_until INTEGER;


-- Per channel: which listing belongs to which channel, for claims by channel.
ALTER TABLE listing_quantities ADD COLUMN channel_id INTEGER;
CREATE INDEX listing_quantities_channel_due ON listing_quantities (channel_id, due_at) WHERE dispatch_state = 'pending';

-- A channel connection's push loop is owned by one process at a time (its rate limit then
-- holds cluster-wide); a lease with an epoch fences a paused former owner.
CREATE TABLE channel_leases (
  channel_id INTEGER PRIMARY KEY REFERENCES channels (id),
  owner      TEXT    NOT NULL,
  epoch      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Push latency samples (ledger commit -> channel acknowledgement), bounded by the sweeper.
CREATE TABLE push_samples (
  id         INTEGER PRIMARY KEY,
  channel_id INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX push_samples_channel_at ON push_samples (channel_id, at);

-- Order pollers' positions (Bol.com orders...), saved only after the lines they returned are
-- applied to the ledger: a crash between the two re-polls the same lines, which the ledger's
-- idempotency keys (from the business event) turn into no-ops.
CREATE TABLE channel_cursors (
  channel_id INTEGER PRIMARY KEY REFERENCES channels (id),
  cursor     TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
);
