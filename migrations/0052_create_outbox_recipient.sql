-- What bounce and complaint reports said about each recipient of a sent row (the latest report;
-- a permanent state is never replaced by a delay).
CREATE TABLE outbox_recipient (
  outbox_id BIGINT UNSIGNED NOT NULL,
  address VARCHAR(320) NOT NULL,
  account_id INT UNSIGNED NOT NULL,
  state ENUM('bounced', 'delayed', 'complained') NOT NULL,
  status_code VARCHAR(16) NOT NULL,
  diagnostic VARCHAR(1000) NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (outbox_id, address),
  KEY idx_outbox_recipient_address (account_id, address, state, updated_at),
  CONSTRAINT fk_outbox_recipient_outbox FOREIGN KEY (outbox_id) REFERENCES outbox (id) ON DELETE CASCADE
)
