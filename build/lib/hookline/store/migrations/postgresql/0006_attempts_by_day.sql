-- Attempts partitioned by day of started_at (UTC), so retention drops a whole day's attempts
-- as one file instead of deleting (and writing WAL for, and vacuuming) every row.
-- A partition is named attempts_YYYYMMDD and holds [that day 00:00, the next day 00:00) in
-- epoch ms. The dispatcher's purge creates the coming days ahead and drops the days wholly
-- older than the retention cut. attempts_default takes any row no day partition covers (a
-- clock far off, an imported row older than the first day), so an insert never fails; its
-- rows go with the batched deletes of their events, like those of the day the cut falls in.
-- The primary key must hold the partition key: (id, started_at); ids are ULIDs, unique anyway.
-- The foreign key to deliveries keeps its cascade: deleting a workspace, webhook or event
-- still takes its attempts along.

ALTER TABLE attempts RENAME TO attempts_unpartitioned;
ALTER INDEX attempts_pkey RENAME TO attempts_unpartitioned_pkey;
ALTER INDEX attempts_delivery RENAME TO attempts_unpartitioned_delivery;

CREATE TABLE attempts (
    id          TEXT COLLATE "C" NOT NULL,
    delivery_id TEXT COLLATE "C" NOT NULL,
    number      INTEGER NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    request     TEXT NOT NULL,
    response    TEXT,
    error       TEXT,
    outcome     TEXT NOT NULL,
    CONSTRAINT attempts_pkey PRIMARY KEY (id, started_at),
    CONSTRAINT attempts_delivery_fkey FOREIGN KEY (delivery_id)
        REFERENCES deliveries (id) ON DELETE CASCADE
) PARTITION BY RANGE (started_at);

CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;

-- One partition per day from the oldest stored attempt's day (at most 400 days back; older
-- rows share one partition that ends where the days begin) through two days ahead; rows
-- further ahead than that (a clock far off) go to attempts_default.
DO $$
DECLARE
    day_ms CONSTANT BIGINT := 86400000;
    today BIGINT := (floor(extract(epoch FROM now()) * 1000)::BIGINT / day_ms) * day_ms;
    oldest BIGINT;
    first_day BIGINT;
    day BIGINT;
BEGIN
    SELECT min(started_at) INTO oldest FROM attempts_unpartitioned;
    first_day := least(
        greatest(coalesce(oldest - oldest % day_ms, today), today - 400 * day_ms), today);
    IF oldest < first_day THEN
        EXECUTE format(
            'CREATE TABLE attempts_before_%s PARTITION OF attempts '
            'FOR VALUES FROM (MINVALUE) TO (%s)',
            to_char(to_timestamp(first_day / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD'), first_day);
    END IF;
    day := first_day;
    WHILE day <= today + 2 * day_ms LOOP
        EXECUTE format(
            'CREATE TABLE attempts_%s PARTITION OF attempts FOR VALUES FROM (%s) TO (%s)',
            to_char(to_timestamp(day / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD'), day, day + day_ms);
        day := day + day_ms;
    END LOOP;
END
$$;

INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, request, response,
    error, outcome)
SELECT id, delivery_id, number, started_at, duration_ms, request, response, error, outcome
FROM attempts_unpartitioned;
DROP TABLE attempts_unpartitioned;

CREATE INDEX attempts_delivery ON attempts (delivery_id, number);
