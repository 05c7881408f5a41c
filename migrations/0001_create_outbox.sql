-- One row per message: its content (stored whole at enqueue, so every attempt sends the same
-- bytes) and its delivery state. Times are milliseconds since the epoch (UTC), from the
-- service's clock, which follows the database clock.
CREATE TABLE outbox (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  account_id INT UNSIGNED NOT NULL,
  kind ENUM('send', 'reply') NOT NULL,
  status ENUM('pending', 'sending', 'sent', 'failed', 'dead', 'cancelled') NOT NULL,
  retries INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NULL,
  -- The claim index: set only while the row waits in the queue, so one ascending range scan
  -- over it finds exactly the due rows, oldest first, with no filesort.
  due_at BIGINT AS (IF(status IN ('pending', 'failed'), next_attempt_at, NULL)) STORED,
  send_at BIGINT NOT NULL,
  lease_token BIGINT UNSIGNED NULL,
  lease_owner VARCHAR(64) NULL,
  lease_expires_at BIGINT NULL,
  message_id VARCHAR(255) NULL,
  provider_message_id VARCHAR(1000) NULL,
  last_error TEXT NULL,
  last_error_class VARCHAR(32) NULL,
  failure_mode TINYINT UNSIGNED NOT NULL DEFAULT 0,
  idempotency_key VARCHAR(256) NULL,
  request_hash BINARY(32) NULL,
  from_header VARCHAR(1000) NOT NULL,
  to_json JSON NOT NULL,
  cc_json JSON NOT NULL,
  bcc_json JSON NOT NULL,
  reply_to VARCHAR(1000) NULL,
  subject VARCHAR(2000) NOT NULL,
  body_text MEDIUMTEXT NOT NULL,
  body_html MEDIUMTEXT NULL,
  in_reply_to VARCHAR(1000) NULL,
  references_header TEXT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  sent_at BIGINT NULL,
  PRIMARY KEY (id),
  KEY idx_outbox_due (due_at),
  KEY idx_outbox_lease (status, lease_expires_at),
  KEY idx_outbox_account (account_id, id),
  UNIQUE KEY uq_outbox_idempotency (account_id, idempotency_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
