-- The messages an account holds: mail it received (IngestMessage) and mail it sent (recorded
-- when the outbox finalizes a row as sent), so that Reply can answer either. One row per
-- (account, Message-ID): ingesting the same message twice finds the first row.
-- message_id is the normalised "<local@domain>" form; ASCII (RFC 5322 msg-id) so that the
-- longest id a header line can carry still fits the unique key.
CREATE TABLE mail_message (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  account_id INT UNSIGNED NOT NULL,
  direction ENUM('inbound', 'outbound') NOT NULL,
  message_id VARCHAR(998) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  from_header VARCHAR(1000) NULL,
  reply_to_json JSON NOT NULL,
  to_json JSON NOT NULL,
  cc_json JSON NOT NULL,
  subject VARCHAR(2000) NULL,
  -- The Date header, milliseconds since the epoch; NULL when the message had none.
  header_date BIGINT NULL,
  in_reply_to VARCHAR(1000) NULL,
  -- The References header: normalised ids, space-separated, oldest first.
  references_header MEDIUMTEXT NULL,
  body_text MEDIUMTEXT NULL,
  body_html MEDIUMTEXT NULL,
  -- Metadata only (filename, type, size, content id, disposition, sha256); content is not kept.
  attachments_json JSON NOT NULL,
  -- For outbound messages: the outbox row that sent it.
  outbox_id BIGINT UNSIGNED NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_mail_message_id (account_id, message_id),
  KEY idx_mail_message_account (account_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
