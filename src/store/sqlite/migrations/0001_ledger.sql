-- onhand ledger schema, SQLite. Times are epoch milliseconds (INTEGER).
-- Append-only: a shipped migration is never edited; changes come as 0002_*.sql and later.

CREATE TABLE variants (
  id            INTEGER PRIMARY KEY,
  sku           TEXT    NOT NULL UNIQUE,
  name          TEXT    NOT NULL,
  barcode       TEXT,
  product_group TEXT,
  attributes    TEXT    NOT NULL DEFAULT '{}',
  is_bundle     INTEGER NOT NULL DEFAULT 0 CHECK (is_bundle IN (0, 1)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX variants_barcode ON variants (barcode) WHERE barcode IS NOT NULL;

CREATE TABLE bundle_components (
  bundle_id    INTEGER NOT NULL REFERENCES variants (id),
  component_id INTEGER NOT NULL REFERENCES variants (id),
  quantity     INTEGER NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (bundle_id, component_id),
  CHECK (bundle_id <> component_id)
) WITHOUT ROWID;
CREATE INDEX bundle_components_component ON bundle_components (component_id);

CREATE TABLE locations (
  id         INTEGER PRIMARY KEY,
  code       TEXT    NOT NULL UNIQUE,
  name       TEXT    NOT NULL,
  kind       TEXT    NOT NULL CHECK (kind IN ('warehouse', 'store', 'dropship', '3pl', 'marketplace_fulfilment')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE levels (
  variant_id                INTEGER NOT NULL REFERENCES variants (id),
  location_id               INTEGER NOT NULL REFERENCES locations (id),
  on_hand                   INTEGER NOT NULL DEFAULT 0,
  reserved                  INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  damaged                   INTEGER NOT NULL DEFAULT 0 CHECK (damaged >= 0),
  quarantine                INTEGER NOT NULL DEFAULT 0 CHECK (quarantine >= 0),
  in_transit                INTEGER NOT NULL DEFAULT 0 CHECK (in_transit >= 0),
  -- units of reserved held by pending reservations; orders may take only reserved - held
  held                      INTEGER NOT NULL DEFAULT 0,
  version                   INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  last_count_at             INTEGER,
  last_count_source_version INTEGER,
  CHECK (held >= 0 AND held <= reserved),
  PRIMARY KEY (variant_id, location_id)
) WITHOUT ROWID;

CREATE TABLE movements (
  id                      INTEGER PRIMARY KEY,
  command_key             TEXT    NOT NULL,
  leg                     INTEGER NOT NULL CHECK (leg >= 0),
  type                    TEXT    NOT NULL CHECK (type IN ('receipt', 'adjustment', 'count', 'transfer_out', 'transfer_in', 'status',
                                                           'order', 'cancellation', 'shipment', 'sale', 'return',
                                                           'reserve', 'commit', 'release', 'expire')),
  variant_id              INTEGER NOT NULL REFERENCES variants (id),
  location_id             INTEGER NOT NULL REFERENCES locations (id),
  version                 INTEGER NOT NULL CHECK (version >= 1),
  d_on_hand               INTEGER NOT NULL,
  d_reserved              INTEGER NOT NULL,
  d_damaged               INTEGER NOT NULL,
  d_quarantine            INTEGER NOT NULL,
  d_in_transit            INTEGER NOT NULL,
  on_hand                 INTEGER NOT NULL,
  reserved                INTEGER NOT NULL CHECK (reserved >= 0),
  damaged                 INTEGER NOT NULL CHECK (damaged >= 0),
  quarantine              INTEGER NOT NULL CHECK (quarantine >= 0),
  in_transit              INTEGER NOT NULL CHECK (in_transit >= 0),
  guarded                 INTEGER NOT NULL CHECK (guarded IN (0, 1)),
  oversold                INTEGER NOT NULL DEFAULT 0 CHECK (oversold >= 0),
  occurred_at             INTEGER NOT NULL,
  recorded_at             INTEGER NOT NULL,
  reason                  TEXT,
  source_system           TEXT,
  source_reference        TEXT,
  reservation_id          TEXT,
  purchase_order_id       TEXT,
  purchase_order_line     INTEGER,
  counterpart_location_id INTEGER REFERENCES locations (id),
  -- The no-oversell guard's backstop: a request (reservation, transfer out) can never be
  -- recorded with available below zero, whatever the application computed.
  CHECK (guarded = 0 OR on_hand - reserved >= 0),
  -- One movement per level version: a second writer that slipped past the lock cannot record.
  UNIQUE (variant_id, location_id, version)
);
CREATE INDEX movements_level_occurred ON movements (variant_id, location_id, occurred_at);
CREATE INDEX movements_variant_id ON movements (variant_id, id);
CREATE INDEX movements_oversold ON movements (id) WHERE oversold > 0;

-- The audit is immutable: corrections are new movements.
CREATE TRIGGER movements_no_update BEFORE UPDATE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END;
CREATE TRIGGER movements_no_delete BEFORE DELETE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END;

-- A rowid table: answers are appended in recording order (rowid grows with recorded_at), so the
-- fat rows go to the end of the table and only the thin key index takes random inserts; pruning
-- walks the rowid order and needs no index on recorded_at.
CREATE TABLE command_answers (
  id           INTEGER PRIMARY KEY,
  key          TEXT    NOT NULL UNIQUE,
  payload_hash TEXT    NOT NULL,
  answer       TEXT    NOT NULL,
  recorded_at  INTEGER NOT NULL
);

CREATE TABLE reservations (
  id                 TEXT    PRIMARY KEY,
  key                TEXT    NOT NULL,
  variant_id         INTEGER NOT NULL REFERENCES variants (id),
  location_id        INTEGER NOT NULL REFERENCES locations (id),
  quantity           INTEGER NOT NULL CHECK (quantity > 0),
  committed_quantity INTEGER NOT NULL DEFAULT 0 CHECK (committed_quantity >= 0 AND committed_quantity <= quantity),
  status             TEXT    NOT NULL CHECK (status IN ('pending', 'committed', 'released', 'expired')),
  expires_at         INTEGER,
  created_at         INTEGER NOT NULL,
  resolved_at        INTEGER
) WITHOUT ROWID;
CREATE INDEX reservations_pending_level ON reservations (variant_id, location_id, expires_at) WHERE status = 'pending';
CREATE INDEX reservations_pending_expiry ON reservations (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;

CREATE TABLE purchase_orders (
  id         TEXT    PRIMARY KEY,
  supplier   TEXT,
  status     TEXT    NOT NULL CHECK (status IN ('open', 'closed', 'cancelled')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE purchase_order_lines (
  purchase_order_id TEXT    NOT NULL REFERENCES purchase_orders (id),
  line              INTEGER NOT NULL CHECK (line >= 1),
  variant_id        INTEGER NOT NULL REFERENCES variants (id),
  location_id       INTEGER NOT NULL REFERENCES locations (id),
  quantity_ordered  INTEGER NOT NULL CHECK (quantity_ordered > 0),
  quantity_received INTEGER NOT NULL DEFAULT 0 CHECK (quantity_received >= 0),
  expected_at       INTEGER,
  PRIMARY KEY (purchase_order_id, line)
) WITHOUT ROWID;
CREATE INDEX purchase_order_lines_variant ON purchase_order_lines (variant_id, location_id);

CREATE TABLE tokens (
  id           TEXT    PRIMARY KEY,
  name         TEXT    NOT NULL,
  scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
  token_hash   TEXT    NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  revoked_at   INTEGER,
  last_used_at INTEGER
) WITHOUT ROWID;
