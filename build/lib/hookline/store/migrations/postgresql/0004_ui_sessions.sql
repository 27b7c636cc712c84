-- UI sessions kept server-side: the cookie carries a signed random token, the row (keyed by
-- the token's SHA-256) says who is signed in. Signing out deletes the row, so a copied cookie
-- stops working at once; revoking a key deletes the portal sessions of the links it issued.
CREATE TABLE ui_sessions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT NOT NULL,
    api_key      TEXT,
    workspace_id TEXT COLLATE "C",
    issued_by    TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX ui_sessions_issued_by ON ui_sessions (issued_by);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);

-- Portal links already redeemed (each link works once), kept until the link expires.
CREATE TABLE portal_redemptions (
    link_id    TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_redemptions_expires ON portal_redemptions (expires_at);
