-- Every repair a reconcile pass queued: which listing, when, what the channel showed (from),
-- what it had acknowledged, and the desired quantity the repair pushes (to). Kept for the
-- operator and for the drift figures; the push itself goes through the outbox row.
CREATE TABLE reconcile_repairs (
  id           INTEGER PRIMARY KEY,
  channel_id   INTEGER NOT NULL REFERENCES channels (id),
  listing_id   INTEGER NOT NULL REFERENCES listings (id),
  at           INTEGER NOT NULL,
  direction    TEXT    NOT NULL CHECK (direction IN ('more', 'less')),
  shown        INTEGER NOT NULL,
  acknowledged INTEGER NOT NULL,
  desired      INTEGER NOT NULL CHECK (desired >= 0),
  CHECK (shown <> acknowledged)
);
CREATE INDEX reconcile_repairs_channel_at ON reconcile_repairs (channel_id, at);
