-- Each attempt names its webhook, so that an endpoint's health (its last attempt, the
-- failures in a row, attempts per hour) is read from the attempts of that webhook alone,
-- by an index, whether or not their deliveries have finished.
ALTER TABLE attempts ADD COLUMN webhook_id TEXT;
UPDATE attempts SET webhook_id = (
    SELECT d.webhook_id FROM deliveries d WHERE d.id = attempts.delivery_id
);
CREATE INDEX attempts_webhook ON attempts (webhook_id, started_at, id);
