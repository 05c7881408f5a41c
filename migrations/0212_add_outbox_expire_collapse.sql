-- expire_at: no attempt starts at or after it (ms; NULL: never). collapse_key: a newer message of
-- the account with the same key cancels this one while it waits in the queue (bytes, compared
-- as such, like idempotency_key). superseded_by: the row that did.
ALTER TABLE outbox ADD COLUMN expire_at BIGINT NULL, ADD COLUMN collapse_key VARBINARY(128) NULL, ADD COLUMN superseded_by BIGINT UNSIGNED NULL
