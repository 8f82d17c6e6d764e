-- Dashboard sessions (src/http/session.ts): a browser signed in with an onhand token holds a
-- random session secret in an HttpOnly cookie; only the secret's SHA-256 is stored, so a read of
-- the database yields neither the secret nor the token. Each request joins the session to its
-- token, so revoking the token ends the session at once. A session ends after
-- limits.sessionIdleMs without use and at expires_at (limits.sessionAbsoluteMs) in any case.
CREATE TABLE sessions (
  session_hash TEXT    PRIMARY KEY CHECK (length(session_hash) = 64),
  token_id     TEXT    NOT NULL REFERENCES tokens (id),
  created_at   BIGINT  NOT NULL,
  last_used_at BIGINT  NOT NULL,
  expires_at   BIGINT  NOT NULL,
  CHECK (created_at <= last_used_at AND created_at < expires_at)
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_token ON sessions (token_id);

-- The stock grid (GET /v1/stock) walks variants in byte order of sku (COLLATE "C", as every
-- sku order of both engines is): the unique index of 0001 is in the database's collation, so
-- without this one each page sorted all 250,000 variants (bench/README.md, Stock grid).
CREATE INDEX variants_sku_bytes ON variants (sku COLLATE "C");
