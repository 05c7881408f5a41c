-- SUPPRESSED: a message every recipient of which is on the account's suppression list; terminal,
-- never attempted.
ALTER TABLE outbox MODIFY status ENUM('pending', 'sending', 'sent', 'failed', 'dead', 'cancelled', 'suppressed') NOT NULL
