-- A single counter row. A transaction takes its event ids from it as its last step before
-- COMMIT and holds the row lock until then, so ids are handed out in commit order and a
-- rolled-back transaction gives its ids back: readers see a gapless, ordered sequence.
CREATE TABLE outbox_event_seq (
  id TINYINT UNSIGNED NOT NULL,
  last_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (id)
) ENGINE = InnoDB
