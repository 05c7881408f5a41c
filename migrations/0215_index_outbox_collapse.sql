-- Superseding: the queued rows of one account and collapse key older than the new row, a range
-- of this index (rows without a key have NULL there and are never in the range).
CREATE INDEX idx_outbox_collapse ON outbox (account_id, collapse_key, status, id)
