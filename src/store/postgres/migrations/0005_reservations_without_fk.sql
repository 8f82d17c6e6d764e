-- Reservations drop their foreign keys to variants and locations, as movements did in 0001:
-- each is checked by a trigger running a lookup per inserted row, and a request batch on one
-- hot level spent ~22 us per reservation row in its COPY (bench/README.md), the most of any
-- table. A reservation is only ever created by a reserve movement, in the same transaction that
-- writes (or locks) its level row, and the level row carries both foreign keys; `verify` reports
-- any reservation (or movement) whose level is missing.
ALTER TABLE reservations DROP CONSTRAINT reservations_variant_id_fkey;
ALTER TABLE reservations DROP CONSTRAINT reservations_location_id_fkey;
