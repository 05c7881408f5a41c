-- The claim index (with due_at, which the claim filters on and the oldest-due metric reads).
CREATE INDEX idx_outbox_claim ON outbox (claim_at, due_at)
