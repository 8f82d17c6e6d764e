-- SQLite runs `x IN (list of constants)` in a CHECK constraint by building an ephemeral index
-- every time the statement runs: callgrind counted ~20,000 instructions per movement row for the
-- type check, a third of the whole insert (bench/README.md). The same rule written as a chain of
-- equalities costs ~1,000. SQLite cannot alter a constraint, so the two hot tables are rebuilt:
-- same columns, same rows, same ids, same indexes and triggers. (PostgreSQL evaluates IN lists
-- cheaply; its schema is unchanged.)

CREATE TABLE movements_rebuilt (
  id                      INTEGER PRIMARY KEY,
  command_key             TEXT    NOT NULL,
  leg                     INTEGER NOT NULL CHECK (leg >= 0),
  type                    TEXT    NOT NULL CHECK (type = 'receipt' OR type = 'adjustment' OR type = 'count' OR type = 'transfer_out' OR
                                  type = 'transfer_in' OR type = 'status' OR type = 'order' OR type = 'cancellation' OR
                                  type = 'shipment' OR type = 'sale' OR type = 'return' OR type = 'reserve' OR
                                  type = 'commit' OR type = 'release' OR type = 'expire'),
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
  guarded                 INTEGER NOT NULL CHECK (guarded = 0 OR guarded = 1),
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
  payload_hash            TEXT,
  -- The no-oversell guard's backstop: a request (reservation, transfer out) can never be
  -- recorded with available below zero, whatever the application computed.
  CHECK (guarded = 0 OR on_hand - reserved >= 0),
  -- One movement per level version: a second writer that slipped past the lock cannot record.
  UNIQUE (variant_id, location_id, version)
);
INSERT INTO movements_rebuilt (id, command_key, leg, type, variant_id, location_id, version, d_on_hand, d_reserved, d_damaged, d_quarantine, d_in_transit, on_hand, reserved, damaged, quarantine, in_transit, guarded, oversold, occurred_at, recorded_at, reason, source_system, source_reference, reservation_id, purchase_order_id, purchase_order_line, counterpart_location_id, payload_hash)
  SELECT id, command_key, leg, type, variant_id, location_id, version, d_on_hand, d_reserved, d_damaged, d_quarantine, d_in_transit, on_hand, reserved, damaged, quarantine, in_transit, guarded, oversold, occurred_at, recorded_at, reason, source_system, source_reference, reservation_id, purchase_order_id, purchase_order_line, counterpart_location_id, payload_hash FROM movements ORDER BY id;
DROP TABLE movements;
ALTER TABLE movements_rebuilt RENAME TO movements;
CREATE INDEX movements_level_occurred ON movements (variant_id, location_id, occurred_at);
CREATE INDEX movements_variant_id ON movements (variant_id, id);
CREATE INDEX movements_oversold ON movements (id) WHERE oversold > 0;
CREATE UNIQUE INDEX movements_command ON movements (command_key, leg);
-- The audit is immutable: corrections are new movements.
CREATE TRIGGER movements_no_update BEFORE UPDATE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END;
CREATE TRIGGER movements_no_delete BEFORE DELETE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END;

CREATE TABLE reservations_rebuilt (
  id                 TEXT    PRIMARY KEY,
  key                TEXT    NOT NULL,
  variant_id         INTEGER NOT NULL REFERENCES variants (id),
  location_id        INTEGER NOT NULL REFERENCES locations (id),
  quantity           INTEGER NOT NULL CHECK (quantity > 0),
  committed_quantity INTEGER NOT NULL DEFAULT 0 CHECK (committed_quantity >= 0 AND committed_quantity <= quantity),
  status             TEXT    NOT NULL CHECK (status = 'pending' OR status = 'committed' OR status = 'released' OR status = 'expired'),
  expires_at         INTEGER,
  created_at         INTEGER NOT NULL,
  resolved_at        INTEGER
) WITHOUT ROWID;
INSERT INTO reservations_rebuilt (id, key, variant_id, location_id, quantity, committed_quantity, status, expires_at, created_at, resolved_at)
  SELECT id, key, variant_id, location_id, quantity, committed_quantity, status, expires_at, created_at, resolved_at FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_rebuilt RENAME TO reservations;
CREATE INDEX reservations_pending_level ON reservations (variant_id, location_id, expires_at) WHERE status = 'pending';
CREATE INDEX reservations_pending_expiry ON reservations (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
