-- Relay failover (accounts[].relays): `relay` is the relay the row's next attempt goes to (NULL:
-- the first by the account's relay_policy), and once SENT the relay that accepted it.
-- `relay_hops` counts the relays that failed (or were skipped, their breaker open) since the last
-- counted attempt: when every relay has, the attempt counts and the normal backoff applies.
-- Both are written by the attempt's finalize, so the failover position survives a crash.
ALTER TABLE outbox ADD COLUMN relay VARCHAR(32) NULL, ADD COLUMN relay_hops TINYINT UNSIGNED NOT NULL DEFAULT 0
