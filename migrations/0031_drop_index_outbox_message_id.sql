-- Replies now find parents in mail_message; nothing reads outbox by Message-ID any more, and the
-- index cost a write on every claim and finalize (both set message_id).
DROP INDEX idx_outbox_message_id ON outbox
