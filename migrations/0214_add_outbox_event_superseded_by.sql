-- On a CANCELLED event: the newer row with the same collapse_key that cancelled this one.
ALTER TABLE outbox_event ADD COLUMN superseded_by BIGINT UNSIGNED NULL
