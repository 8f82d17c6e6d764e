-- A reservation made by channel (POST /v1/reservations with `channel`) remembers the channel's
-- code, so that committing it can name the channel order line it becomes; NULL for a
-- reservation at a location, and for those made before this column existed. Plain text, not a
-- reference: a reservation outlives a renamed or removed channel like its movements do.

ALTER TABLE reservations ADD COLUMN channel TEXT;
