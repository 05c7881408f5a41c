-- The account-level sender signal (AccountService.ListAccounts) counts an account's recipients by
-- reason over the last 24 h and reads the latest of each: range scans of this index, never of
-- the table.
CREATE INDEX idx_outbox_recipient_reason ON outbox_recipient (account_id, bounce_reason, updated_at)
