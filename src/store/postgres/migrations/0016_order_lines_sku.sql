-- GET /v1/order-lines?sku= (the variant page's open order lines): the lines matched to one
-- variant, newest first, read from this index instead of a scan of every channel's lines; the
-- page then sorts only that variant's lines by (created_at, channel, line key).
CREATE INDEX order_lines_sku_created ON order_lines (sku, created_at);
