-- The recipient a bounce, delay or complaint event is about.
ALTER TABLE outbox_event ADD COLUMN recipient VARCHAR(320) NULL
