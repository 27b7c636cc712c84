-- The W3C traceparent of the span that created a delivery (its event's ingest, a resend,
-- a test ping): a dispatcher continues that trace with one span per attempt. NULL when
-- tracing was off.
ALTER TABLE deliveries ADD COLUMN trace_context TEXT;
