-- Each webhook's due deliveries in queue order: a claim that leaves out webhooks at their
-- concurrency cap reads every other webhook's oldest due deliveries through it.
CREATE INDEX deliveries_due_webhook ON deliveries (webhook_id, next_attempt_at, id)
    WHERE status = 'pending';
