-- When a delivery stops being worth attempting (epoch ms: its event's creation + ttl; NULL:
-- never). A claim ends an expired delivery it reads as 'expired' instead of taking it.
ALTER TABLE deliveries ADD COLUMN expires_at BIGINT;

-- hookline_ingest (migration 0013) as it was, plus ``ev_expires``: each event's expiry, written
-- on its deliveries.
DROP FUNCTION hookline_ingest(
    BIGINT, TEXT[], TEXT[], TEXT[], TEXT[], BIGINT[], TEXT[], INTEGER[], TEXT[], TEXT[], TEXT[]
);
CREATE FUNCTION hookline_ingest(
    expected BIGINT,
    ev_ids TEXT[], ev_workspaces TEXT[], ev_types TEXT[], ev_data TEXT[], ev_times BIGINT[],
    dlv_ids TEXT[], dlv_events INTEGER[], dlv_webhooks TEXT[], ev_traces TEXT[],
    ev_channels TEXT[], ev_expires BIGINT[]
) RETURNS TABLE (
    n BIGINT, created BOOLEAN, deliveries BIGINT, due BOOLEAN,
    pk BIGINT, id TEXT, workspace_id TEXT, type TEXT, data TEXT, created_at BIGINT, channels TEXT
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
        SELECT t.* FROM unnest(
            ev_ids, ev_workspaces, ev_types, ev_data, ev_times, ev_traces, ev_channels, ev_expires
        ) WITH ORDINALITY AS t (
            id, workspace_id, type, data, created_at, trace_context, channels, expires_at, n
        )
    ), inserted AS (
        INSERT INTO events AS e (id, workspace_id, type, data, created_at, channels)
        SELECT i.id, i.workspace_id, i.type, i.data, i.created_at, i.channels
        FROM input i ORDER BY i.n
        ON CONFLICT (workspace_id, id) DO NOTHING
        RETURNING e.pk, e.workspace_id, e.id
    ), made AS (
        -- The first item of each inserted key created it; the others repeat it.
        SELECT DISTINCT ON (i.workspace_id, i.id) i.n, x.pk, i.id, i.type, i.created_at,
            i.trace_context, i.expires_at
        FROM inserted x JOIN input i ON i.workspace_id = x.workspace_id AND i.id = x.id
        ORDER BY i.workspace_id, i.id, i.n
    ), fanned AS (
        INSERT INTO deliveries AS d (id, event_pk, webhook_id, workspace_id, event_id, event_type,
            status, next_attempt_at, created_at, trace_context, expires_at)
        SELECT f.id, m.pk, w.id, w.workspace_id, m.id, m.type,
            CASE w.status WHEN 'active' THEN 'pending' ELSE 'held' END, m.created_at, m.created_at,
            m.trace_context, m.expires_at
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
        NULL::TEXT, NULL::BIGINT, NULL::TEXT
    FROM unnest(made_n, made_count, made_due) AS c (n, count, due)
    JOIN unnest(ev_ids) WITH ORDINALITY AS t (id, n) ON t.n = c.n
    UNION ALL
    SELECT t.n, false,
        (SELECT count(*) FROM deliveries d WHERE d.event_pk = e.pk AND d.resent_from IS NULL),
        false, e.pk, e.id, e.workspace_id, e.type, e.data, e.created_at, e.channels
    FROM unnest(ev_ids, ev_workspaces) WITH ORDINALITY AS t (id, workspace_id, n)
    JOIN events e ON e.workspace_id = t.workspace_id AND e.id = t.id
    WHERE t.n <> ALL(COALESCE(made_n, '{}'))
    ORDER BY 1;
END;
$$;
