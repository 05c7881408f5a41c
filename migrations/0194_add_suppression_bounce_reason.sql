-- The reason of the report that listed an address, so entries made by the old every-5.x.x rule
-- (NULL) can be told apart and reviewed.
ALTER TABLE suppression ADD COLUMN bounce_reason VARCHAR(32) NULL
