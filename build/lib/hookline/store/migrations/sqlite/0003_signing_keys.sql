-- Per-webhook ed25519 key pair and the keys still valid during a rotation's grace period.

-- The sealed whsk_ private key (Standard Webhooks v1a).
ALTER TABLE webhooks ADD COLUMN signing_key TEXT;
-- JSON list of {"secret": sealed, "signingKey": sealed | null, "expiresAt": epoch ms}.
ALTER TABLE webhooks ADD COLUMN previous_keys TEXT NOT NULL DEFAULT '[]';
