-- The message as composed when it was accepted (MIME, without the Message-ID, Date and
-- X-Outbox-Id each attempt puts in front); NULL for a message with attachments or over 1 MiB,
-- which each attempt composes from the row.
ALTER TABLE outbox ADD COLUMN mime MEDIUMBLOB NULL
