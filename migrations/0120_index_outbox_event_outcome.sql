-- GetOutboxActivity counts the attempts that ended (SENT, FAILED and DEAD events) per minute of
-- the last hour: a covering range scan of this index per kind, never a scan of the whole table.
CREATE INDEX idx_outbox_event_outcome ON outbox_event (kind, created_at, account_id)
