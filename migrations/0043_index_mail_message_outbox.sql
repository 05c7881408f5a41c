-- Retention finds the sent mail recorded for an outbox row when the row goes.
CREATE INDEX idx_mail_message_outbox ON mail_message (outbox_id)
