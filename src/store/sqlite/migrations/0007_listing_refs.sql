-- Order lines name a channel item by whatever id the platform puts on the line, and that is not
-- always the id the listing is keyed by: a Shopify listing is keyed by its inventory item and
-- carries the product variant (what an order line names) in external_refs. This table holds
-- every value of every listing's external_refs, per channel, written in the same transaction
-- as the listing, so an order line finds its listing by an index instead of a scan of the
-- channel's JSON. The same value may sit on several listings (a Woo product id on each of its
-- variations), hence the listing id in the key.

CREATE TABLE listing_refs (
  channel_id INTEGER NOT NULL REFERENCES channels (id),
  ref        TEXT    NOT NULL CHECK (ref <> ''),
  listing_id INTEGER NOT NULL REFERENCES listings (id),
  PRIMARY KEY (channel_id, ref, listing_id)
) WITHOUT ROWID;
-- A listing's refs are rewritten whenever the listing is.
CREATE INDEX listing_refs_listing ON listing_refs (listing_id);

INSERT INTO listing_refs (channel_id, ref, listing_id)
  SELECT DISTINCT l.channel_id, j.value, l.id FROM listings l, json_each(l.external_refs) AS j
  WHERE j.type = 'text' AND j.value <> '';
