-- Requests to send that applications write inside their own transactions (docs/outbox-request.md):
-- a request exists only if the application's transaction committed. `request` is the proto JSON
-- of an email.v1.SendRequest. The service takes pending rows (processed_at NULL) through the
-- pending index, and answers in the same transaction that commits the outbox row: outbox_id when
-- accepted, error_reason and error_message when refused, and processed_at either way. Times are
-- UTC, from the database's clock, whatever the writer's session time zone.
CREATE TABLE outbox_request (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  account_id INT UNSIGNED NOT NULL,
  request JSON NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
  processed_at DATETIME(6) NULL,
  outbox_id BIGINT UNSIGNED NULL,
  error_reason VARCHAR(64) NULL,
  error_message VARCHAR(1024) NULL,
  PRIMARY KEY (id),
  KEY idx_outbox_request_pending (processed_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
