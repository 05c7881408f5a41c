-- The number in a row's Message-ID (<outbox-{id}-{message_seq}@domain>). It follows the attempts
-- counted in retries, except after an attempt whose outcome is unknown (the connection broke after
-- the whole message was handed over): the server may have kept that copy, so the retry reuses its
-- Message-ID and receivers can tell the copies are one message.
ALTER TABLE outbox ADD COLUMN message_seq INT UNSIGNED NOT NULL DEFAULT 0 AFTER retries
