-- Every saved version of a template, never changed once written. html is the source as saved
-- (MJML as given); compiled_html is MJML's output, the HTML that is rendered (NULL for plain HTML).
CREATE TABLE template_version (
  account_id INT UNSIGNED NOT NULL,
  name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version INT UNSIGNED NOT NULL,
  subject TEXT NOT NULL,
  html MEDIUMTEXT NOT NULL,
  compiled_html MEDIUMTEXT NULL,
  text_body MEDIUMTEXT NOT NULL,
  layout VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  description VARCHAR(1000) NOT NULL,
  sample_data JSON NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, name, version),
  KEY idx_template_version_layout (account_id, layout)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
