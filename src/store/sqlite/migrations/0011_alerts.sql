-- Alerts the rules raised (src/core/alerts.ts): one row per time a rule's condition held on a
-- channel, from when it started (opened_at) to when it ended (resolved_at, NULL while open).
-- At most one open alert per rule and channel: a second process evaluating the same figures
-- finds the row there and fires nothing.
CREATE TABLE alerts (
  id          INTEGER PRIMARY KEY,
  rule        TEXT    NOT NULL CHECK (rule IN ('drift', 'oldest_pending', 'connection_failing', 'dead_letters', 'order_silence')),
  channel     TEXT    NOT NULL,
  opened_at   INTEGER  NOT NULL,
  resolved_at INTEGER,
  detail      TEXT    NOT NULL,
  CHECK (resolved_at IS NULL OR resolved_at >= opened_at)
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule, channel) WHERE resolved_at IS NULL;
CREATE INDEX alerts_opened ON alerts (opened_at);
-- The order-silence rule reads each channel's newest order line every round: without this, a
-- scan of all the channel's lines (the primary key orders them by line key, not by time).
CREATE INDEX order_lines_channel_created ON order_lines (channel_id, created_at);
