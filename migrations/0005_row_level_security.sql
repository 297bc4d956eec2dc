-- Row-level security on every tenant-owned table: the second line of defence behind the tenant filter that every
-- repository query carries. FORCE makes it apply to the table owner too; only superusers and BYPASSRLS roles
-- escape it, and the application role is neither.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_log', 'api_clients', 'payments', 'refunds', 'payment_attempts',
                           'payment_transitions', 'idempotency_keys', 'events', 'webhook_endpoints',
                           'webhook_deliveries', 'webhook_delivery_attempts']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())', t);
    EXECUTE format('CREATE POLICY cross_tenant_access ON %I USING (app_cross_tenant()) WITH CHECK (app_cross_tenant())', t);
  END LOOP;
END
$$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = app_tenant_id()) WITH CHECK (id = app_tenant_id());
CREATE POLICY cross_tenant_access ON tenants USING (app_cross_tenant()) WITH CHECK (app_cross_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO nimbuspay_app;
REVOKE INSERT, UPDATE, DELETE ON payment_status_transitions FROM nimbuspay_app;
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM nimbuspay_app;
-- Tables added by later migrations are reachable by the app role too; each such migration must add its RLS policies.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO nimbuspay_app;
