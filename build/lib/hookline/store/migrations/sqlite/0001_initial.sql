-- Hookline schema for SQLite. Times are epoch milliseconds; JSON columns are text.

CREATE TABLE workspaces (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    plan               TEXT NOT NULL,
    notification_email TEXT,
    settings           TEXT NOT NULL DEFAULT '{}',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id);

CREATE TABLE event_types (
    seq         INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    category    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    schema      TEXT,
    example     TEXT,
    archived    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    events            TEXT NOT NULL,
    headers           TEXT NOT NULL DEFAULT '{}',
    secret            TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_reason     TEXT,
    status_changed_by TEXT,
    status_changed_at INTEGER,
    retry_policy      TEXT,
    rate_limit        REAL,
    ordering          TEXT NOT NULL DEFAULT 'none',
    metadata          TEXT NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id);

CREATE TABLE events (
    pk           INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, id)
);
CREATE INDEX events_id ON events (id);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_workspace ON events (workspace_id, pk);

CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    event_pk         INTEGER NOT NULL REFERENCES events (pk) ON DELETE CASCADE,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    workspace_id     TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT,
    lease_until      INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER,
    resent_from      TEXT,
    tags             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_workspace ON deliveries (workspace_id, id);
CREATE INDEX deliveries_event ON deliveries (event_pk);

CREATE TABLE attempts (
    id          TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    request     TEXT NOT NULL,
    response    TEXT,
    error       TEXT,
    outcome     TEXT NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, number);
