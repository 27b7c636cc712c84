-- Each webhook's due deliveries in queue order: a claim reads the queue of every webhook
-- with room when the oldest due work all belongs to webhooks at their concurrency cap.
CREATE INDEX deliveries_due_webhook ON deliveries (webhook_id, next_attempt_at, id)
    WHERE status = 'pending';
