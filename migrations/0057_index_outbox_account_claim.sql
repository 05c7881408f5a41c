-- The claim of one rate-limited account's due rows, in claim order, without scanning the due rows
-- of every other account.
CREATE INDEX idx_outbox_account_claim ON outbox (account_id, claim_at, due_at)
