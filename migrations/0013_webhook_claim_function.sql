-- The webhook dispatcher's claim in one round trip. Claims are serialised across workers by a transaction-scoped
-- advisory lock, and the claim must read the leases the previous holder committed, so it needs a snapshot taken
-- after the lock is granted: two statements, which the dispatcher used to send as two round trips in the middle of
-- every round. In a VOLATILE PL/pgSQL function each statement takes its own snapshot (READ COMMITTED), so the
-- lock and then the claim run in one call; PL/pgSQL also keeps the claim's plan for the connection.
-- The rules (per-endpoint cap across all workers, oldest first, round-robin over tenants, SKIP LOCKED, the lease)
-- are documented at claimDueDeliveries (src/modules/webhooks/deliveries/deliveries.repository.ts), which calls this.
-- SECURITY INVOKER (the default): it runs under the caller's row-level security, i.e. only in a cross-tenant
-- transaction.
CREATE FUNCTION claim_webhook_deliveries(p_limit integer, p_max_per_endpoint integer, p_lease_ms integer)
RETURNS TABLE (
  id text, tenant_id text, endpoint_id text, attempt_count integer, locked_until timestamptz, created_at timestamptz,
  url text, secret_enc text, previous_secret_enc text, previous_secret_expires_at timestamptz, endpoint_failing boolean,
  event_id text, event_type text, event_object_type text, event_object_id text, event_data jsonb,
  event_created_at timestamptz
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  PERFORM pg_advisory_xact_lock(7310420001);
  RETURN QUERY
    WITH candidates AS (
      SELECT c.id, c.tenant_id, c.next_attempt_at, c.endpoint_rank
      FROM webhook_endpoints e
      CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM webhook_deliveries f
        WHERE f.endpoint_id = e.id AND f.status = 'pending' AND f.locked_until IS NOT NULL AND f.locked_until > now()
      ) busy
      CROSS JOIN LATERAL (
        SELECT d.id, d.tenant_id, d.next_attempt_at, row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS endpoint_rank
        FROM webhook_deliveries d
        WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= now()
          AND (d.locked_until IS NULL OR d.locked_until <= now())
        ORDER BY d.next_attempt_at, d.id
        LIMIT greatest(p_max_per_endpoint - busy.n, 0)
      ) c
      WHERE e.status = 'enabled'
    ), eligible AS (
      SELECT cd.id, cd.next_attempt_at,
             row_number() OVER (PARTITION BY cd.tenant_id ORDER BY cd.endpoint_rank, cd.next_attempt_at, cd.id) AS tenant_rank
      FROM candidates cd
    ), picked AS (
      SELECT el.id FROM eligible el ORDER BY el.tenant_rank, el.next_attempt_at, el.id LIMIT p_limit
    ), locked AS (
      SELECT d.id FROM webhook_deliveries d WHERE d.id = ANY(ARRAY(SELECT pk.id FROM picked pk)) FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET locked_until = date_trunc('milliseconds', now() + p_lease_ms * interval '1 millisecond')
    FROM webhook_endpoints e, events ev
    -- = ANY(ARRAY(…)): primary-key probes for the few claimed rows, never a scan of the backlog
    WHERE d.id = ANY(ARRAY(SELECT l.id FROM locked l)) AND e.id = d.endpoint_id AND ev.id = d.event_id
    RETURNING d.id, d.tenant_id, d.endpoint_id, d.attempt_count, d.locked_until, d.created_at,
              e.url, e.secret_enc, e.previous_secret_enc, e.previous_secret_expires_at, e.failing_since IS NOT NULL,
              ev.id, ev.type, ev.object_type, ev.object_id, ev.data, ev.created_at;
END;
$$;
