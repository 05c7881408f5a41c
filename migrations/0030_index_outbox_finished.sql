-- Retention finds finished rows (sent, cancelled, dead) by the time of their last change without
-- scanning the rows still in flight.
CREATE INDEX idx_outbox_finished ON outbox (status, updated_at)
