-- Each attempt names its webhook, so that an endpoint's health (its last attempt, the
-- failures in a row, attempts per hour) is read from the attempts of that webhook alone,
-- by an index, whether or not their deliveries have finished. The index is made on every
-- day's partition, and on those the dispatcher creates later.
ALTER TABLE attempts ADD COLUMN webhook_id TEXT COLLATE "C";
UPDATE attempts a SET webhook_id = d.webhook_id FROM deliveries d WHERE d.id = a.delivery_id;
CREATE INDEX attempts_webhook ON attempts (webhook_id, started_at, id);
