-- Channels (JSON lists of names, NULL: none): those an event carries, and those a webhook
-- subscribes to (NULL: every event, with channels or without).
ALTER TABLE events ADD COLUMN channels TEXT;
ALTER TABLE webhooks ADD COLUMN channels TEXT;

-- Ingestion caches the subscribed webhooks: a change of channels must move the counter too.
DROP TRIGGER config_webhooks_update;
CREATE TRIGGER config_webhooks_update AFTER UPDATE OF events, status, filter, channels ON webhooks
BEGIN UPDATE config_version SET n = n + 1; END;
