-- The template a row was rendered from (name and version); NULL when the request gave the body.
-- The rendered subject and bodies are in the row itself, so later edits change nothing sent.
ALTER TABLE outbox ADD COLUMN template_name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL, ADD COLUMN template_version INT UNSIGNED NULL
