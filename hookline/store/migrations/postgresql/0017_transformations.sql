-- A webhook's transformation (JSON {"code", "enabled"}; NULL: none).
ALTER TABLE webhooks ADD COLUMN transformation TEXT;
