-- The last reconcile pass per channel (not a dry run): when it ran, how, what it read and found,
-- how many repairs it queued, and how many listings it could not read. Kept in the store so the
-- sync status shows it from any process and after a restart; each pass replaces the row.
CREATE TABLE reconcile_runs (
  channel_id       INTEGER PRIMARY KEY REFERENCES channels (id),
  mode             TEXT    NOT NULL CHECK (mode IN ('targeted', 'full')),
  started_at       INTEGER NOT NULL,
  finished_at      INTEGER NOT NULL,
  listings_read    INTEGER NOT NULL CHECK (listings_read >= 0),
  listings_unknown INTEGER NOT NULL CHECK (listings_unknown >= 0),
  drift_more       INTEGER NOT NULL CHECK (drift_more >= 0),
  drift_less       INTEGER NOT NULL CHECK (drift_less >= 0),
  unconfirmed      INTEGER NOT NULL CHECK (unconfirmed >= 0),
  dead             INTEGER NOT NULL CHECK (dead >= 0),
  repairs          INTEGER NOT NULL CHECK (repairs >= 0),
  read_errors      INTEGER NOT NULL CHECK (read_errors >= 0),
  first_read_error TEXT
);
