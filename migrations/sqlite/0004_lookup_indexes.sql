-- Found by profiling the statements of the demo history (60,000 tickets a season).
-- A ticket's place (cancellation, refund, exchange) and an order's lines (every order read)
-- were looked up by scanning the whole table.
CREATE INDEX places_ticket ON places (ticket_id);
CREATE INDEX order_lines_order ON order_lines (order_id);
-- Seat allocation reads the taken seats of a performance, and unnumbered sales count the
-- places held in a pool, at every sale: this index answers both without reading the table.
CREATE INDEX places_perf_pool ON places (performance_id, family, seat_id, state, expires_at);
