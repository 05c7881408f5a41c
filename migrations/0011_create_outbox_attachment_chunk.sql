-- An attachment's bytes in pieces of at most 4 MiB, each written by its own statement, so a
-- 25 MiB file fits through MariaDB's default 16 MiB max_allowed_packet. seq orders the pieces.
CREATE TABLE outbox_attachment_chunk (
  outbox_id BIGINT UNSIGNED NOT NULL,
  position SMALLINT UNSIGNED NOT NULL,
  seq INT UNSIGNED NOT NULL,
  data MEDIUMBLOB NOT NULL,
  PRIMARY KEY (outbox_id, position, seq),
  CONSTRAINT fk_outbox_attachment_chunk_file FOREIGN KEY (outbox_id, position)
    REFERENCES outbox_attachment (outbox_id, position) ON DELETE CASCADE
) ENGINE = InnoDB
