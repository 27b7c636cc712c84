-- The webhooks whose last attempt failed, since when: a success removes the row, and the
-- removal is how an operational endpoint.recovered is told once, by whichever process
-- records that success. Apart from webhooks, so tracking moves no configuration counter.
CREATE TABLE webhook_failing (
    webhook_id TEXT PRIMARY KEY REFERENCES webhooks (id) ON DELETE CASCADE,
    since      BIGINT NOT NULL
);
