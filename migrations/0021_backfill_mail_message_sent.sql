-- Mail sent before mail_message existed stays answerable: record every sent outbox row, as
-- finalize does from now on (src/outbox/messages.ts recordSent).
INSERT INTO mail_message (account_id, direction, message_id, from_header, reply_to_json, to_json, cc_json, subject,
  header_date, in_reply_to, references_header, body_text, body_html, attachments_json, outbox_id, created_at)
SELECT account_id, 'outbound', message_id, from_header, IF(reply_to IS NULL, JSON_ARRAY(), JSON_ARRAY(reply_to)),
  to_json, cc_json, subject, created_at, in_reply_to, references_header, body_text, body_html, JSON_ARRAY(), id,
  COALESCE(sent_at, updated_at)
FROM outbox WHERE status = 'sent' AND message_id IS NOT NULL
ON DUPLICATE KEY UPDATE mail_message.id = mail_message.id
