-- One row per (account, template name): which version is the latest, and whether the template
-- is deleted (no new sends; its versions stay, so a name created again continues the numbers).
CREATE TABLE template (
  account_id INT UNSIGNED NOT NULL,
  name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  latest_version INT UNSIGNED NOT NULL,
  deleted_at BIGINT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
