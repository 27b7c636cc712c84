-- Whether a webhook's custom headers go with a redirect to another origin too, or only to
-- the webhook URL's origin (false, the default).
ALTER TABLE webhooks ADD COLUMN forward_headers_on_redirect BOOLEAN NOT NULL DEFAULT false;
