-- The reason a RECIPIENT_* event reports (WatchOutbox, webhooks); NULL for every other event.
ALTER TABLE outbox_event ADD COLUMN bounce_reason VARCHAR(32) NULL
