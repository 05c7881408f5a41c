-- One row per attached file of a message, in the order the request listed them. The bytes are in
-- outbox_attachment_chunk; size_bytes lets the sender check they are all there.
CREATE TABLE outbox_attachment (
  outbox_id BIGINT UNSIGNED NOT NULL,
  position SMALLINT UNSIGNED NOT NULL,
  filename VARCHAR(255) NOT NULL,
  content_type VARCHAR(255) NOT NULL,
  content_id VARCHAR(255) NULL,
  size_bytes INT UNSIGNED NOT NULL,
  PRIMARY KEY (outbox_id, position),
  CONSTRAINT fk_outbox_attachment_outbox FOREIGN KEY (outbox_id) REFERENCES outbox (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
