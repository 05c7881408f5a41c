-- 0: TRANSACTIONAL (the default), 1: BULK. See claim_at.
ALTER TABLE outbox ADD COLUMN priority TINYINT UNSIGNED NOT NULL DEFAULT 0 AFTER failure_mode
