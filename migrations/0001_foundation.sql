-- Roles and tenancy primitives.
-- The application connects as a member of nimbuspay_app: not the owner of any table, no BYPASSRLS, so
-- row-level security applies to it. Migrations run as the owner role.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nimbuspay_app') THEN
    CREATE ROLE nimbuspay_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO nimbuspay_app;

-- The tenant of the current transaction, set with set_config('app.tenant_id', …, true) (transaction-local, so a
-- pooled connection never carries it into the next transaction).
CREATE FUNCTION app_tenant_id() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.tenant_id', true), '')
$$;

-- Cross-tenant paths (worker, support, admin, token endpoint) say so explicitly for one transaction.
CREATE FUNCTION app_cross_tenant() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('app.cross_tenant', true), '') = 'on'
$$;

CREATE TABLE tenants (
  id          text PRIMARY KEY CHECK (id ~ '^ten_[0-9a-z]{26}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
  id               text PRIMARY KEY,
  actor_client_id  text NOT NULL,
  tenant_id        text REFERENCES tenants(id),
  action           text NOT NULL,
  target_id        text,
  reason           text,
  details          jsonb NOT NULL DEFAULT '{}'::jsonb,
  request_id       text,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, created_at);
