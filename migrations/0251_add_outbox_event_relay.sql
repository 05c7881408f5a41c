-- The relay an attempt went through, on its outcome's event (SENT, FAILED, DEAD, RELAY_FAILED);
-- NULL for every other event.
ALTER TABLE outbox_event ADD COLUMN relay VARCHAR(32) NULL
