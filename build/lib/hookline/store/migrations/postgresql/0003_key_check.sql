-- Every process checks at start that its encryption key is the deployment's, and a fault of
-- Hookline's own puts a delivery back in the queue without counting as an attempt.

-- One token sealed with the deployment's key, written by the first process that finds none:
-- a process whose key cannot open it refuses to start.
CREATE TABLE key_check (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    token      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- Internal faults in a row since the delivery's last attempt: how long its next try waits.
ALTER TABLE deliveries ADD COLUMN internal_faults INTEGER NOT NULL DEFAULT 0;
