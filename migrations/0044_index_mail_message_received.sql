-- Retention finds received mail past retention.mail_message_ms without scanning the table.
CREATE INDEX idx_mail_message_received ON mail_message (direction, created_at)
