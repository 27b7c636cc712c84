-- When a delivery stops being worth attempting (epoch ms: its event's creation + ttl; NULL:
-- never). A claim ends an expired delivery it reads as 'expired' instead of taking it.
ALTER TABLE deliveries ADD COLUMN expires_at INTEGER;
