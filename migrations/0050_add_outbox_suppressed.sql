-- Recipients left out of the message because they were suppressed when it was committed.
ALTER TABLE outbox ADD COLUMN suppressed_json JSON NULL
