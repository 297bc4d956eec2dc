-- Prefixed, time-sortable ids generated in SQL, in the same format as src/platform/ids.ts (48-bit ms time + 80
-- random bits, Crockford base32), for rows fanned out by one statement (one webhook delivery per endpoint).
CREATE FUNCTION new_prefixed_id(prefix text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
  t bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
  body text := '';
BEGIN
  FOR i IN 1..10 LOOP
    body := substr(alphabet, (t % 32)::int + 1, 1) || body;
    t := t / 32;
  END LOOP;
  FOR i IN 1..16 LOOP
    body := body || substr(alphabet, floor(random() * 32)::int + 1, 1);
  END LOOP;
  RETURN prefix || '_' || body;
END
$$;

-- Events are written in the same transaction as the state change they describe; webhook deliveries are
-- written in that same transaction too, so a webhook exists only for committed state and is never lost.
CREATE TABLE events (
  id           text PRIMARY KEY CHECK (id ~ '^evt_[0-9a-z]{26}$'),
  tenant_id    text NOT NULL REFERENCES tenants(id),
  type         text NOT NULL,
  object_type  text NOT NULL,
  object_id    text NOT NULL,
  data         jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_tenant_id_idx ON events (tenant_id, id);
CREATE INDEX events_tenant_object_idx ON events (tenant_id, object_id, id);
CREATE INDEX events_tenant_type_idx ON events (tenant_id, type, id);
CREATE INDEX events_created_idx ON events (created_at);

CREATE TABLE webhook_endpoints (
  id                         text PRIMARY KEY CHECK (id ~ '^we_[0-9a-z]{26}$'),
  tenant_id                  text NOT NULL REFERENCES tenants(id),
  url                        text NOT NULL CHECK (length(url) <= 2048),
  description                text CHECK (length(description) <= 500),
  enabled_events             text[] NOT NULL CHECK (cardinality(enabled_events) > 0),
  status                     text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  disabled_reason            text,
  -- whsec_ secrets encrypted with a key derived from NIMBUSPAY_MASTER_KEY; never stored in clear
  secret_enc                 text NOT NULL,
  previous_secret_enc        text,
  previous_secret_expires_at timestamptz,
  failing_since              timestamptz,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  CHECK ((previous_secret_enc IS NULL) = (previous_secret_expires_at IS NULL))
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_deliveries (
  id                text PRIMARY KEY CHECK (id ~ '^whd_[0-9a-z]{26}$'),
  tenant_id         text NOT NULL REFERENCES tenants(id),
  endpoint_id       text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  event_id          text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  status            text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempt_count     integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  next_attempt_at   timestamptz,
  locked_until      timestamptz,
  last_attempt_at   timestamptz,
  last_status_code  integer,
  last_error        text,
  delivered_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
-- The delivery claim walks enabled endpoints and takes each one's oldest due deliveries (a short index range per
-- endpoint, whatever the backlog), and counts each endpoint's running leases through the second, tiny index.
CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (endpoint_id) WHERE status = 'pending' AND locked_until IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, id);

CREATE TABLE webhook_delivery_attempts (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants(id),
  delivery_id    text NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempted_at   timestamptz NOT NULL DEFAULT now(),
  outcome        text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'endpoint_gone')),
  status_code    integer,
  latency_ms     integer NOT NULL,
  error          text,
  response_body  text CHECK (length(response_body) <= 4096)
);
CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (tenant_id, delivery_id, attempted_at);
