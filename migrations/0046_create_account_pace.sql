-- The fleet-wide pace of each rate-limited account: a GCRA "theoretical arrival time" in ms on
-- the database clock. Every instance takes start slots for its claims from this row, locked in
-- the claim transaction, so rate_limit.max_per_second holds however many instances run.
CREATE TABLE account_pace (
  account_id INT UNSIGNED NOT NULL,
  tat BIGINT NOT NULL,
  PRIMARY KEY (account_id)
)
