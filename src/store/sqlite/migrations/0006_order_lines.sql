-- Channel order lines as state (src/core/orders): every fact a channel reported about a line,
-- folded, beside the effect already applied to the ledger. The intake writes the ledger only
-- the difference between the two, in the ledger batch's own transaction (so the moves and the
-- line are durable together or not at all); `status` 'blocked' with a reason is the intake inbox.
CREATE TABLE order_lines (
  channel_id  INTEGER NOT NULL REFERENCES channels (id),
  line_key    TEXT    NOT NULL,
  order_id    TEXT    NOT NULL,
  line_id     TEXT    NOT NULL,
  item        TEXT    NOT NULL,
  sku         TEXT,
  state       TEXT    NOT NULL,
  applied     TEXT    NOT NULL DEFAULT '{}',
  seq         INTEGER NOT NULL DEFAULT 0 CHECK (seq >= 0),
  version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
  status      TEXT    NOT NULL CHECK (status = 'open' OR status = 'closed' OR status = 'info' OR status = 'blocked'),
  reason      TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (channel_id, line_key)
);
CREATE INDEX order_lines_order ON order_lines (channel_id, order_id);
CREATE INDEX order_lines_blocked ON order_lines (updated_at) WHERE status = 'blocked';
