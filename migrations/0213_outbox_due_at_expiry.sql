-- A queued row falls due at its expiry if that comes before its next attempt: the claim that
-- then finds it moves it to EXPIRED, so no expired row waits in the queue for a retry that will
-- never be made. One table rebuild for both columns of the claim index.
ALTER TABLE outbox
  MODIFY due_at BIGINT AS (IF(status IN ('pending', 'failed'), LEAST(next_attempt_at, IFNULL(expire_at, next_attempt_at)), NULL)) STORED,
  MODIFY claim_at BIGINT AS (IF(status IN ('pending', 'failed'), LEAST(next_attempt_at + priority * 60000, IFNULL(expire_at, next_attempt_at + priority * 60000)), NULL)) STORED
