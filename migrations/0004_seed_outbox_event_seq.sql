INSERT INTO outbox_event_seq (id, last_id) VALUES (1, 0)
