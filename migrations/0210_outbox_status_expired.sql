-- EXPIRED: a message whose expire_at passed before a relay accepted it; never attempted again.
-- Terminal.
ALTER TABLE outbox MODIFY status ENUM('pending', 'sending', 'sent', 'failed', 'dead', 'cancelled', 'suppressed', 'expired') NOT NULL
