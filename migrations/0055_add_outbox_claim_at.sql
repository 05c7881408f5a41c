-- The claim order: a row waiting in the queue is claimed in claim_at order, and a BULK row competes
-- as if due 60 s later than it is. When senders keep up nothing changes (a due row is claimed
-- either way); when an account's rate limit or connections are the bottleneck, transactional
-- rows go first, and a bulk row waits at most 60 s behind transactional ones: never starved.
ALTER TABLE outbox ADD COLUMN claim_at BIGINT AS (IF(status IN ('pending', 'failed'), next_attempt_at + priority * 60000, NULL)) STORED AFTER due_at
