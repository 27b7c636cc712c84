-- A webhook's payload filter (JSON, null: every matching event), its endpoint
-- authentication and its destination other than HTTP (both JSON sealed with the
-- deployment key, null: none).
ALTER TABLE webhooks ADD COLUMN filter TEXT;
ALTER TABLE webhooks ADD COLUMN auth TEXT;
ALTER TABLE webhooks ADD COLUMN destination TEXT;

-- Ingestion caches the subscribed webhooks: a filter change must move the counter too.
DROP TRIGGER config_webhooks ON webhooks;
CREATE TRIGGER config_webhooks AFTER INSERT OR DELETE OR UPDATE OF events, status, filter ON webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_config_changed();
