-- Replaced by idx_outbox_claim.
DROP INDEX idx_outbox_due ON outbox
