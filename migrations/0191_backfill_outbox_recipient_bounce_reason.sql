-- Earlier delay notices and complaints have a certain reason; earlier bounces have none (their
-- status alone cannot tell an unknown user from a blocked sender).
UPDATE outbox_recipient SET bounce_reason = IF(state = 'delayed', 'delayed', 'complaint')
WHERE state IN ('delayed', 'complained') AND bounce_reason IS NULL
