-- Why each recipient failed (src/bounces/reasons.ts; NULL for reports stored before reasons were
-- recorded) and the SMTP reply code its report quoted. Text, not ENUM: the taxonomy may grow
-- without a table rebuild; the service reads unknown values as no reason.
ALTER TABLE outbox_recipient ADD COLUMN bounce_reason VARCHAR(32) NULL, ADD COLUMN reply_code VARCHAR(3) NOT NULL DEFAULT ''
