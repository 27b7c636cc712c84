-- Whether a webhook's custom headers go with a redirect to another origin too (1), or only
-- to the webhook URL's origin (0, the default).
ALTER TABLE webhooks ADD COLUMN forward_headers_on_redirect INTEGER NOT NULL DEFAULT 0;
