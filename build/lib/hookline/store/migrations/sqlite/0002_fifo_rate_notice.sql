-- FIFO ordering, per-webhook rate limits across workers, throttled pause e-mails.

-- The next moment a rate-limited webhook may receive an attempt (epoch ms).
ALTER TABLE webhooks ADD COLUMN rate_next_at INTEGER;
-- When the last "webhook paused" e-mail went out for this webhook.
ALTER TABLE webhooks ADD COLUMN pause_notice_at INTEGER;

-- Unfinished deliveries per webhook, in order: the FIFO head check.
CREATE INDEX deliveries_open ON deliveries (webhook_id, id)
    WHERE status IN ('pending', 'sending', 'held');
