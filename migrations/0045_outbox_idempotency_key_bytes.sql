-- Idempotency keys compare byte for byte: under the table's PAD SPACE collation 'k' and 'k ' were
-- the same key (and case or accent folding would be next). Bytes neither pad nor fold; the
-- unique key stays. 1024 bytes hold the 256 characters allowed in UTF-8.
ALTER TABLE outbox MODIFY idempotency_key VARBINARY(1024) NULL
