-- Availability: channels, listings, the normalizer's mappings, versioned rule sets and the
-- desired quantity of every listing (written in the ledger transaction that changes it).

ALTER TABLE levels ADD COLUMN velocity REAL NOT NULL DEFAULT 0;
ALTER TABLE levels ADD COLUMN velocity_at INTEGER;

CREATE TABLE channels (
  id                  INTEGER PRIMARY KEY,
  code                TEXT    NOT NULL UNIQUE,
  name                TEXT    NOT NULL,
  platform            TEXT    NOT NULL CHECK (platform IN ('shopify', 'woocommerce', 'bol', 'amazon', 'gmc', 'custom')),
  settings            TEXT    NOT NULL DEFAULT '{}',
  push_latency_p95_ms INTEGER NOT NULL DEFAULT 2000 CHECK (push_latency_p95_ms >= 0),
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);

CREATE TABLE channel_locations (
  channel_id  INTEGER NOT NULL REFERENCES channels (id),
  location_id INTEGER NOT NULL REFERENCES locations (id),
  priority    INTEGER NOT NULL CHECK (priority >= 1),
  PRIMARY KEY (channel_id, location_id)
) WITHOUT ROWID;

CREATE TABLE listings (
  id                   INTEGER PRIMARY KEY,
  channel_id           INTEGER NOT NULL REFERENCES channels (id),
  variant_id           INTEGER NOT NULL REFERENCES variants (id),
  external_id          TEXT    NOT NULL,
  external_location_id TEXT,
  external_refs        TEXT    NOT NULL DEFAULT '{}',
  rank                 INTEGER NOT NULL DEFAULT 100,
  matched_by           TEXT    NOT NULL CHECK (matched_by IN ('mapping', 'sku', 'barcode')),
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  UNIQUE (channel_id, external_id)
);
-- Covering the ledger batch's lookup (a variant's listings and channels) without touching the table.
CREATE INDEX listings_variant ON listings (variant_id, id, channel_id, rank);

CREATE TABLE listing_mappings (
  channel_id  INTEGER NOT NULL REFERENCES channels (id),
  external_id TEXT    NOT NULL,
  variant_id  INTEGER NOT NULL REFERENCES variants (id),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (channel_id, external_id)
) WITHOUT ROWID;

CREATE TABLE unmapped_items (
  channel_id  INTEGER NOT NULL REFERENCES channels (id),
  external_id TEXT    NOT NULL,
  sku         TEXT,
  barcode     TEXT,
  reason      TEXT    NOT NULL,
  at          INTEGER NOT NULL,
  PRIMARY KEY (channel_id, external_id)
) WITHOUT ROWID;

CREATE TABLE rule_sets (
  version    INTEGER PRIMARY KEY CHECK (version >= 1),
  rules      TEXT    NOT NULL,
  author     TEXT    NOT NULL,
  note       TEXT,
  created_at INTEGER NOT NULL
);

-- The audit of rule changes: who created or activated which version, when, why.
CREATE TABLE rule_set_events (
  id      INTEGER PRIMARY KEY,
  version INTEGER NOT NULL REFERENCES rule_sets (version),
  action  TEXT    NOT NULL CHECK (action IN ('created', 'activated')),
  author  TEXT    NOT NULL,
  note    TEXT,
  at      INTEGER NOT NULL
);

-- One row: the active rule version, and a counter bumped by every change to what the
-- availability computation reads besides levels and listings (channels, locations, rules),
-- so each process can cache those and notice a change with one cheap read per batch.
CREATE TABLE availability_state (
  id                  INTEGER PRIMARY KEY CHECK (id = 1),
  active_rule_version INTEGER REFERENCES rule_sets (version),
  config_version      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO availability_state (id, active_rule_version, config_version) VALUES (1, NULL, 0);

-- Clustered by variant: a ledger batch rewrites all listings of the variants it moved, and a
-- variant's rows then share a page (keyed by listing id alone they sit on one page per channel).
CREATE TABLE listing_quantities (
  variant_id           INTEGER NOT NULL REFERENCES variants (id),
  listing_id           INTEGER NOT NULL UNIQUE REFERENCES listings (id),
  quantity             INTEGER NOT NULL CHECK (quantity >= 0),
  preorder_quantity    INTEGER CHECK (preorder_quantity IS NULL OR preorder_quantity > 0),
  preorder_earliest_at INTEGER,
  preorder_latest_at   INTEGER,
  rule_version         INTEGER,
  computed_at          INTEGER NOT NULL,
  PRIMARY KEY (variant_id, listing_id)
) WITHOUT ROWID;
