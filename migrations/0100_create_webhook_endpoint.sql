-- One row per configured webhook endpoint (account, endpoint id): how far into outbox_event its
-- deliveries have been recorded (the events' ids are gapless and commit-ordered, so a cursor is
-- exact), and its failure state. Locked while an instance records deliveries or finishes one, so
-- instances never record an event twice and a row's next event is released exactly once.
CREATE TABLE webhook_endpoint (
  account_id INT UNSIGNED NOT NULL,
  endpoint_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  last_event_id BIGINT UNSIGNED NOT NULL,
  failing_since BIGINT NULL,
  paused_at BIGINT NULL,
  PRIMARY KEY (account_id, endpoint_id)
) ENGINE = InnoDB
