-- One counter that moves whenever what ingestion reads changes: API keys, workspaces, the
-- event-type catalog, and webhooks created, deleted or changed in subscriptions or status.
-- Processes cache those reads and insert events only while the counter is as they read it.
CREATE TABLE config_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO config_version (id, n) VALUES (1, 0);

CREATE FUNCTION hookline_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER config_api_keys AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_config_changed();
CREATE TRIGGER config_workspaces AFTER INSERT OR UPDATE OR DELETE ON workspaces
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_config_changed();
CREATE TRIGGER config_event_types AFTER INSERT OR UPDATE OR DELETE ON event_types
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_config_changed();
CREATE TRIGGER config_webhooks AFTER INSERT OR DELETE OR UPDATE OF events, status ON webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_config_changed();

-- Ingestion in one round trip: events (idempotent on workspace and id) with their deliveries,
-- refused with SQLSTATE HL001 when the counter is not ``expected`` (NULL: not checked).
-- Deliveries are given per event by its position in the batch (1-based). Returns one row per
-- event, in batch order: whether this call created it, how many deliveries it has, whether
-- one of them is due now (pending, not held), and for a repeat the stored event.
CREATE FUNCTION hookline_ingest(
    expected BIGINT,
    ev_ids TEXT[], ev_workspaces TEXT[], ev_types TEXT[], ev_data TEXT[], ev_times BIGINT[],
    dlv_ids TEXT[], dlv_events INTEGER[], dlv_webhooks TEXT[]
) RETURNS TABLE (
    n BIGINT, created BOOLEAN, deliveries BIGINT, due BOOLEAN,
    pk BIGINT, id TEXT, workspace_id TEXT, type TEXT, data TEXT, created_at BIGINT
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    current BIGINT;
    made_n BIGINT[];
    made_count BIGINT[];
    made_due BOOLEAN[];
    pending BOOLEAN;
BEGIN
    IF expected IS NOT NULL THEN
        SELECT c.n INTO current FROM config_version c WHERE c.id = 1;
        IF current IS DISTINCT FROM expected THEN
            RAISE EXCEPTION 'configuration changed' USING ERRCODE = 'HL001';
        END IF;
    END IF;
    -- A concurrent pause either waits for this insert or is seen by it.
    PERFORM 1 FROM webhooks w WHERE w.id = ANY(dlv_webhooks) ORDER BY w.id FOR KEY SHARE;
    WITH input AS (
        SELECT t.* FROM unnest(ev_ids, ev_workspaces, ev_types, ev_data, ev_times)
            WITH ORDINALITY AS t (id, workspace_id, type, data, created_at, n)
    ), inserted AS (
        INSERT INTO events AS e (id, workspace_id, type, data, created_at)
        SELECT i.id, i.workspace_id, i.type, i.data, i.created_at FROM input i ORDER BY i.n
        ON CONFLICT (workspace_id, id) DO NOTHING
        RETURNING e.pk, e.workspace_id, e.id
    ), made AS (
        -- The first item of each inserted key created it; the others repeat it.
        SELECT DISTINCT ON (i.workspace_id, i.id) i.n, x.pk, i.id, i.type, i.created_at
        FROM inserted x JOIN input i ON i.workspace_id = x.workspace_id AND i.id = x.id
        ORDER BY i.workspace_id, i.id, i.n
    ), fanned AS (
        INSERT INTO deliveries AS d (id, event_pk, webhook_id, workspace_id, event_id, event_type,
            status, next_attempt_at, created_at)
        SELECT f.id, m.pk, w.id, w.workspace_id, m.id, m.type,
            CASE w.status WHEN 'active' THEN 'pending' ELSE 'held' END, m.created_at, m.created_at
        FROM unnest(dlv_ids, dlv_events, dlv_webhooks) AS f (id, n, webhook_id)
        JOIN made m ON m.n = f.n
        JOIN webhooks w ON w.id = f.webhook_id
        WHERE w.status <> 'disabled'
        RETURNING d.event_pk, d.status
    )
    SELECT array_agg(m.n), array_agg(COALESCE(c.count, 0)), array_agg(COALESCE(c.pending, false)),
        COALESCE(bool_or(c.pending), false)
    INTO made_n, made_count, made_due, pending
    FROM made m LEFT JOIN (
        SELECT event_pk, count(*) AS count, bool_or(status = 'pending') AS pending
        FROM fanned GROUP BY event_pk
    ) c ON c.event_pk = m.pk;
    IF pending THEN
        PERFORM pg_notify('hookline_work', '');
    END IF;
    RETURN QUERY
    SELECT t.n, true, c.count, c.due, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::TEXT,
        NULL::TEXT, NULL::BIGINT
    FROM unnest(made_n, made_count, made_due) AS c (n, count, due)
    JOIN unnest(ev_ids) WITH ORDINALITY AS t (id, n) ON t.n = c.n
    UNION ALL
    SELECT t.n, false,
        (SELECT count(*) FROM deliveries d WHERE d.event_pk = e.pk AND d.resent_from IS NULL),
        false, e.pk, e.id, e.workspace_id, e.type, e.data, e.created_at
    FROM unnest(ev_ids, ev_workspaces) WITH ORDINALITY AS t (id, workspace_id, n)
    JOIN events e ON e.workspace_id = t.workspace_id AND e.id = t.id
    WHERE t.n <> ALL(COALESCE(made_n, '{}'))
    ORDER BY 1;
END;
$$;
