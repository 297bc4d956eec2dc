-- The event feed (GET /v1/events/feed, what `nimbuspay listen` reads) hands a tenant its events in commit order,
-- without loss across reconnections. Event ids cannot carry that order: an id is made before its transaction
-- commits, so a payment that commits late can carry an older id than an event already handed out, and a cursor on
-- ids would skip it. Each event therefore records its transaction's id, and the feed only hands out events of
-- transactions older than the oldest one still running (pg_snapshot_xmin): none of those can commit an event any
-- more, so a cursor on (xact_id, id) never skips one. A long transaction anywhere in the cluster delays the feed
-- (it never loses an event).
--
-- Added without a default first, then given one: a volatile default on ADD COLUMN would rewrite the table. Events
-- recorded before this migration keep a NULL xact_id and are not in the feed (they were never waited for).
ALTER TABLE events ADD COLUMN xact_id xid8;
ALTER TABLE events ALTER COLUMN xact_id SET DEFAULT pg_current_xact_id();
CREATE INDEX events_tenant_feed_idx ON events (tenant_id, xact_id, id) WHERE xact_id IS NOT NULL;

-- `logs:read`: a tenant reads its own request log (GET /v1/request_logs, `nimbuspay logs tail`). The scope list of
-- api_clients is a CHECK constraint (0002, unnamed): it is replaced by a named one with the new scope.
DO $$
DECLARE
  c text;
BEGIN
  SELECT conname INTO STRICT c FROM pg_constraint
   WHERE conrelid = 'api_clients'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%platform:admin%';
  EXECUTE format('ALTER TABLE api_clients DROP CONSTRAINT %I', c);
END
$$;
ALTER TABLE api_clients ADD CONSTRAINT api_clients_scope_vocabulary_check CHECK (
  (tenant_id IS NULL AND scopes <@ ARRAY['platform:admin', 'support:read', 'support:write']::text[])
  OR (tenant_id IS NOT NULL AND scopes <@ ARRAY['payments:read', 'payments:write', 'refunds:write', 'events:read',
                                                'webhooks:read', 'webhooks:write', 'logs:read']::text[])
);

-- A tenant's request log, newest first, by its own id (the cursor).
CREATE INDEX api_requests_tenant_id_idx ON api_requests (tenant_id, id) WHERE tenant_id IS NOT NULL;
