-- The last reconcile pass per channel (not a dry run): when it ran, how, what it read and found,
-- how many repairs it queued, and how many listings it could not read. Kept in the store so the
-- sync status shows it from any process and after a restart; each pass replaces the row.
CREATE TABLE reconcile_runs (
  channel_id       BIGINT PRIMARY KEY REFERENCES channels (id),
  mode             TEXT    NOT NULL CHECK (mode IN ('targeted', 'full')),
  started_at       BIGINT  NOT NULL,
  finished_at      BIGINT  NOT NULL,
  listings_read    BIGINT  NOT NULL CHECK (listings_read >= 0),
  listings_unknown BIGINT  NOT NULL CHECK (listings_unknown >= 0),
  drift_more       BIGINT  NOT NULL CHECK (drift_more >= 0),
  drift_less       BIGINT  NOT NULL CHECK (drift_less >= 0),
  unconfirmed      BIGINT  NOT NULL CHECK (unconfirmed >= 0),
  dead             BIGINT  NOT NULL CHECK (dead >= 0),
  repairs          BIGINT  NOT NULL CHECK (repairs >= 0),
  read_errors      BIGINT  NOT NULL CHECK (read_errors >= 0),
  first_read_error TEXT
);
