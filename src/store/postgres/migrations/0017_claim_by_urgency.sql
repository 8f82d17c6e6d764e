-- The dispatcher's claim (src/store/dispatch-sql.ts) takes a channel's due pending rows by
-- urgency, then due time, then listing. Urgency is computed, so listing_quantities_channel_due
-- could not give that order: every claim read and sorted all of the channel's pending rows
-- (28% of the server's CPU with 200,000 pending). Here urgency is an index column: a claim of
-- one urgency class seeks (channel, class, due_at <= now) and reads the due rows in order,
-- stopping at its limit. The expression is exactly the claim's (a unit test compares them).
-- listing_quantities_channel_due stays: the sync status counts rows by due time with it.
CREATE INDEX listing_quantities_claim ON listing_quantities (channel_id, (CASE
    WHEN quantity = 0 AND COALESCE(channel_quantity, pushed_quantity, 1) > 0 THEN 0
    WHEN COALESCE(channel_quantity, pushed_quantity, quantity + 1) > quantity THEN 1
    ELSE 2 END), due_at, listing_id) WHERE dispatch_state = 'pending';
