-- Addresses an account no longer sends to: hard bounces, complaints, repeated soft bounces and
-- entries added by hand. Addresses are stored lower-cased.
CREATE TABLE suppression (
  account_id INT UNSIGNED NOT NULL,
  address VARCHAR(320) NOT NULL,
  reason ENUM('hard_bounce', 'complaint', 'soft_bounces', 'manual') NOT NULL,
  outbox_id BIGINT UNSIGNED NULL,
  detail VARCHAR(1000) NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, address)
)
