-- When the poll that saved a channel's order cursor began. Its orders are in the ledger once
-- the cursor is saved, so every order the channel took before that moment is known: a reconcile
-- read that showed less, taken before it, can be repaired without waiting for a second read
-- (src/core/drift.ts). Null for cursors saved before this column existed.
ALTER TABLE channel_cursors ADD COLUMN poll_started_at INTEGER;
