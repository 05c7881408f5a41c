-- A message's own header fields (a JSON array of [name, value] pairs, in the order given, so
-- every attempt writes them alike), its tags and its metadata (JSON objects of strings). NULL
-- when the request had none. Tags and metadata are never written into the message.
ALTER TABLE outbox ADD COLUMN headers_json JSON NULL, ADD COLUMN tags_json JSON NULL, ADD COLUMN metadata_json JSON NULL
