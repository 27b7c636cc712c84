-- Hookline schema for PostgreSQL: the SQLite schema of 0001-0003 in one file.
-- Times are epoch milliseconds (BIGINT); JSON columns are text, as in SQLite, so
-- both adapters share their row mappers. Ids compare byte-wise (COLLATE "C"),
-- like SQLite's, so cursors and FIFO order do not depend on the server's locale.

CREATE TABLE workspaces (
    seq                BIGSERIAL PRIMARY KEY,
    id                 TEXT COLLATE "C" NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    plan               TEXT NOT NULL,
    notification_email TEXT,
    settings           TEXT NOT NULL DEFAULT '{}',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id);

CREATE TABLE event_types (
    seq         BIGSERIAL PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    category    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    schema      TEXT,
    example     TEXT,
    archived    BOOLEAN NOT NULL DEFAULT false,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE webhooks (
    id                TEXT COLLATE "C" PRIMARY KEY,
    workspace_id      TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    events            TEXT NOT NULL,
    headers           TEXT NOT NULL DEFAULT '{}',
    secret            TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_reason     TEXT,
    status_changed_by TEXT,
    status_changed_at BIGINT,
    retry_policy      TEXT,
    rate_limit        DOUBLE PRECISION,
    ordering          TEXT NOT NULL DEFAULT 'none',
    metadata          TEXT NOT NULL DEFAULT '{}',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    -- The next moment a rate-limited webhook may receive an attempt.
    rate_next_at      BIGINT,
    -- When the last "webhook paused" e-mail went out for this webhook.
    pause_notice_at   BIGINT,
    -- The sealed whsk_ private key (Standard Webhooks v1a).
    signing_key       TEXT,
    -- JSON list of {"secret": sealed, "signingKey": sealed | null, "expiresAt": epoch ms}.
    previous_keys     TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id);

CREATE TABLE events (
    pk           BIGSERIAL PRIMARY KEY,
    id           TEXT COLLATE "C" NOT NULL,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, id)
);
CREATE INDEX events_id ON events (id);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_workspace ON events (workspace_id, pk);

CREATE TABLE deliveries (
    id               TEXT COLLATE "C" PRIMARY KEY,
    event_pk         BIGINT NOT NULL REFERENCES events (pk) ON DELETE CASCADE,
    webhook_id       TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    workspace_id     TEXT COLLATE "C" NOT NULL,
    event_id         TEXT COLLATE "C" NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    completed_at     BIGINT,
    resent_from      TEXT COLLATE "C",
    tags             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_owner ON deliveries (lease_owner) WHERE status = 'sending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_workspace ON deliveries (workspace_id, id);
CREATE INDEX deliveries_event ON deliveries (event_pk);
CREATE INDEX deliveries_event_id ON deliveries (event_id);
-- Unfinished deliveries per webhook, in order: the FIFO head check.
CREATE INDEX deliveries_open ON deliveries (webhook_id, id)
    WHERE status IN ('pending', 'sending', 'held');

CREATE TABLE attempts (
    id          TEXT COLLATE "C" PRIMARY KEY,
    delivery_id TEXT COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    request     TEXT NOT NULL,
    response    TEXT,
    error       TEXT,
    outcome     TEXT NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, number);
