-- Each relay's circuit breaker, shared by the fleet: relay failures in a row, and while open the
-- time (ms, service clock) until which senders skip the relay. Once that time has passed one
-- sender takes the single trial attempt by moving open_until on (a conditional UPDATE); its
-- success closes the breaker (failures 0, open_until NULL).
CREATE TABLE relay_breaker (
  account_id INT UNSIGNED NOT NULL,
  relay VARCHAR(32) NOT NULL,
  failures INT UNSIGNED NOT NULL DEFAULT 0,
  open_until BIGINT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, relay)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
