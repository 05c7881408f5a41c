-- How far each account's IMAP mailbox has been ingested: the mailbox's UIDVALIDITY and the highest
-- UID whose message is stored (or was refused for good). A message is fetched only above last_uid;
-- when the server reports another UIDVALIDITY the UIDs mean other messages, so ingest starts again
-- at the first UID and mail_message's (account, Message-ID) key keeps it from storing anything twice.
CREATE TABLE imap_mailbox_state (
  account_id INT UNSIGNED NOT NULL,
  mailbox VARCHAR(255) NOT NULL,
  uid_validity BIGINT UNSIGNED NOT NULL,
  last_uid BIGINT UNSIGNED NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, mailbox)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
