ALTER TABLE outbox_event MODIFY status ENUM('pending', 'sending', 'sent', 'failed', 'dead', 'cancelled', 'suppressed', 'expired') NOT NULL
