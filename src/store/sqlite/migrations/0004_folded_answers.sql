-- Answers of applied commands that change no reservation are no longer stored in
-- command_answers: they are rebuilt from the command's movements (core `appliedAnswer`). Leg 0
-- carries the payload hash that tells a replay from a conflict, and the movements are found by
-- their command key. The unique index also makes "one set of movements per idempotency key" a
-- constraint of the database, behind the core's own check.
ALTER TABLE movements ADD COLUMN payload_hash TEXT;
CREATE UNIQUE INDEX movements_command ON movements (command_key, leg);
