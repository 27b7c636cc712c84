-- Two indexes fewer on deliveries. No update of a delivery's status can be HOT (status is in
-- the queue indexes' predicates), so a delivery writes an entry into each of its indexes when
-- it is created, claimed and recorded: an index costs about three insertions per delivery.
-- A worker's leases (renewed, released) are found through deliveries_leased, which holds only
-- the deliveries being sent, at most the attempts in flight.
DROP INDEX deliveries_owner;
-- Deliveries are found by their event id through the event: events_id (or events'
-- (workspace_id, id) key), then deliveries_event.
DROP INDEX deliveries_event_id;
