-- Rows written before message_seq existed numbered their Message-IDs by retries.
UPDATE outbox SET message_seq = retries WHERE retries > 0
