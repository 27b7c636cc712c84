-- One counter that moves whenever what ingestion reads changes: API keys, workspaces, the
-- event-type catalog, and webhooks created, deleted or changed in subscriptions or status.
-- Processes cache those reads and insert events only while the counter is as they read it.
CREATE TABLE config_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO config_version (id, n) VALUES (1, 0);

CREATE TRIGGER config_api_keys_insert AFTER INSERT ON api_keys
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_api_keys_update AFTER UPDATE ON api_keys
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_api_keys_delete AFTER DELETE ON api_keys
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_workspaces_insert AFTER INSERT ON workspaces
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_workspaces_update AFTER UPDATE ON workspaces
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_workspaces_delete AFTER DELETE ON workspaces
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_event_types_insert AFTER INSERT ON event_types
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_event_types_update AFTER UPDATE ON event_types
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_event_types_delete AFTER DELETE ON event_types
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_webhooks_insert AFTER INSERT ON webhooks
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_webhooks_update AFTER UPDATE OF events, status ON webhooks
BEGIN UPDATE config_version SET n = n + 1; END;
CREATE TRIGGER config_webhooks_delete AFTER DELETE ON webhooks
BEGIN UPDATE config_version SET n = n + 1; END;
