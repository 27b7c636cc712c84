-- One row that a store out of space rewrites, at most once a second, to learn that writes
-- succeed again (hookline/store/space.py). Nothing reads it.
CREATE TABLE storage_probe (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at BIGINT NOT NULL
);
