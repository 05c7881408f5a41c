// The syntax of a tag (like SES message tags and Resend tags): a name and a value of ASCII
// letters, digits, '_' and '-'. One rule for requests, filters and metrics.tag_labels.
export const MAX_TAGS = 10;
export const TAG_TEXT = /^[A-Za-z0-9_-]{1,256}$/;
