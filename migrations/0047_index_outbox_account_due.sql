-- The claim of one rate-limited account's due rows, oldest first, without scanning the due rows
-- of every other account.
CREATE INDEX idx_outbox_account_due ON outbox (account_id, due_at)
