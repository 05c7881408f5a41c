-- Every state change of an outbox row, written in the same transaction as the change.
-- Ids come from outbox_event_seq, not AUTO_INCREMENT, so they become visible in commit order.
CREATE TABLE outbox_event (
  id BIGINT UNSIGNED NOT NULL,
  outbox_id BIGINT UNSIGNED NOT NULL,
  account_id INT UNSIGNED NOT NULL,
  kind TINYINT UNSIGNED NOT NULL,
  status ENUM('pending', 'sending', 'sent', 'failed', 'dead', 'cancelled') NOT NULL,
  retries INT UNSIGNED NOT NULL,
  next_attempt_at BIGINT NULL,
  provider_message_id VARCHAR(1000) NULL,
  message_id VARCHAR(255) NULL,
  error TEXT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY idx_outbox_event_outbox (outbox_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
