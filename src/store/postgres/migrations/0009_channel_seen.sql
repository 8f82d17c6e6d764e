-- The drift model (src/core/drift.ts) needs to know when the channel was seen showing what
-- channel_quantity holds (a read-back, a level notice, a push answer), and since when it has
-- shown that same value: two reads that agree, a grace apart, confirm that a channel showing
-- less than it acknowledged is not an order still on its way.
ALTER TABLE listing_quantities ADD COLUMN channel_seen_at BIGINT;
ALTER TABLE listing_quantities ADD COLUMN channel_since BIGINT;
