-- Lease rescues since the row's last finished attempt. A row that keeps stalling or crashing its
-- sender (a poison row) would otherwise come back forever and take instance after instance down;
-- past sender.max_rescues it goes DEAD with last_error_class RESCUE_LIMIT.
ALTER TABLE outbox ADD COLUMN rescues INT UNSIGNED NOT NULL DEFAULT 0 AFTER message_seq
