-- One event to deliver to one endpoint. status: waiting (an earlier event of the same outbox row
-- is not finished for this endpoint; due_at NULL), pending (due at due_at), delivering (claimed
-- until due_at, the lease), delivered, failed (a permanent answer or past max age). due_at is set
-- only while the row may be claimed, so the claim is one range scan of idx_webhook_delivery_due.
CREATE TABLE webhook_delivery (
  account_id INT UNSIGNED NOT NULL,
  endpoint_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  event_id BIGINT UNSIGNED NOT NULL,
  outbox_id BIGINT UNSIGNED NOT NULL,
  status ENUM('waiting', 'pending', 'delivering', 'delivered', 'failed') NOT NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  due_at BIGINT NULL,
  lease_token BIGINT UNSIGNED NULL,
  event_at BIGINT NOT NULL,
  last_status SMALLINT UNSIGNED NULL,
  last_error VARCHAR(600) NULL,
  last_attempt_at BIGINT NULL,
  delivered_at BIGINT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, endpoint_id, event_id),
  KEY idx_webhook_delivery_due (account_id, endpoint_id, due_at, event_id),
  KEY idx_webhook_delivery_row (account_id, endpoint_id, outbox_id, event_id),
  KEY idx_webhook_delivery_open (account_id, endpoint_id, status, event_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
