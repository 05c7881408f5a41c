-- Reply looks up a parent we sent by its Message-ID within the account.
CREATE INDEX idx_outbox_message_id ON outbox (account_id, message_id)
