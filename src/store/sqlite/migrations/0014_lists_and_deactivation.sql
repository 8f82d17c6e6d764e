-- Deactivation and the lists users page through (GET /v1/reservations, /v1/movements,
-- /v1/purchase-orders).
--
-- Deactivation never deletes: a variant, location, channel or listing keeps its row and its
-- history, and carries who deactivated it and when (NULL: active). Every change, either way,
-- is also appended to activation_events, so a reactivation does not erase the record.
ALTER TABLE variants ADD COLUMN deactivated_at INTEGER;
ALTER TABLE variants ADD COLUMN deactivated_by TEXT;
ALTER TABLE locations ADD COLUMN deactivated_at INTEGER;
ALTER TABLE locations ADD COLUMN deactivated_by TEXT;
ALTER TABLE channels ADD COLUMN deactivated_at INTEGER;
ALTER TABLE channels ADD COLUMN deactivated_by TEXT;
ALTER TABLE listings ADD COLUMN deactivated_at INTEGER;
ALTER TABLE listings ADD COLUMN deactivated_by TEXT;

CREATE TABLE activation_events (
  id     INTEGER PRIMARY KEY,
  kind   TEXT    NOT NULL CHECK (kind = 'variant' OR kind = 'location' OR kind = 'channel' OR kind = 'listing'),
  ref    TEXT    NOT NULL,
  action TEXT    NOT NULL CHECK (action = 'deactivated' OR action = 'activated'),
  actor  TEXT    NOT NULL,
  at     INTEGER NOT NULL
);
CREATE INDEX activation_events_ref ON activation_events (kind, ref, id);

-- One index per list, so that each page is a range scan in the list's order (EXPLAIN QUERY
-- PLAN of each page query is quoted in docs/LISTS.md):
-- reservations newest first, by status or all of them, and by variant;
CREATE INDEX reservations_created ON reservations (created_at, id);
CREATE INDEX reservations_status_created ON reservations (status, created_at, id);
CREATE INDEX reservations_variant_created ON reservations (variant_id, created_at, id);
-- the movements feed starts at the first movement recorded at or after `since`, then walks ids;
CREATE INDEX movements_recorded ON movements (recorded_at);
-- purchase orders by status, in id order.
CREATE INDEX purchase_orders_status ON purchase_orders (status, id);
