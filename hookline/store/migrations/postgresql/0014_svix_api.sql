-- Answers to requests sent with an idempotency key (the Svix-compatible API), per caller
-- (the API key's id) and key, kept a day so that a repeat gets the first answer again.
CREATE TABLE idempotent_answers (
    owner      TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    request    TEXT NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotent_answers_created ON idempotent_answers (created_at);

-- A workspace's metadata: the product's own key/values (a Svix application's metadata).
ALTER TABLE workspaces ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
