-- The support team: staff identities and their sessions, the request log, internal notes on payments, worker
-- heartbeats for the health page, and an audit log that names staff as well as API clients.
--
-- Staff tables carry no tenant: staff work across tenants, so they sit outside row-level security like
-- signing_keys. Every table below that does carry a tenant gets the same two policies as 0005.

CREATE TABLE staff_users (
  id               text PRIMARY KEY CHECK (id ~ '^stf_[0-9a-z]{26}$'),
  -- stored lower-cased: one person, one account, whatever case they type
  email            text NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 320 AND email = lower(email)),
  display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  role             text NOT NULL CHECK (role IN ('support_agent', 'support_operator', 'platform_admin')),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  -- local accounts: a memory-hard hash of the password, and the TOTP secret encrypted with the master key
  password_hash    text,
  totp_secret_enc  text,
  -- the last TOTP time step accepted: a code is never accepted twice (RFC 6238 §5.2)
  totp_last_step   bigint,
  -- SSO accounts: the identity provider's issuer and subject (the email claim can change; these cannot)
  oidc_issuer      text,
  oidc_subject     text,
  failed_logins    integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
  locked_until     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_login_at    timestamptz,
  UNIQUE (oidc_issuer, oidc_subject),
  CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)),
  CHECK (password_hash IS NOT NULL OR oidc_subject IS NOT NULL),
  CHECK (totp_secret_enc IS NULL OR password_hash IS NOT NULL)
);

-- A console session (backend-for-frontend): the browser holds only an opaque cookie; the row holds the rest.
CREATE TABLE staff_sessions (
  id                   text PRIMARY KEY CHECK (id ~ '^ses_[0-9a-z]{26}$'),
  -- SHA-256 of the cookie value; the value itself is never stored
  token_hash           text NOT NULL UNIQUE,
  staff_id             text NOT NULL REFERENCES staff_users(id),
  auth_method          text NOT NULL CHECK (auth_method IN ('password', 'oidc')),
  created_at           timestamptz NOT NULL DEFAULT now(),
  last_seen_at         timestamptz NOT NULL DEFAULT now(),
  idle_expires_at      timestamptz NOT NULL,
  absolute_expires_at  timestamptz NOT NULL,
  revoked_at           timestamptz,
  source_ip            text,
  user_agent           text CHECK (length(user_agent) <= 512),
  CHECK (idle_expires_at <= absolute_expires_at)
);
CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id, created_at);
CREATE INDEX staff_sessions_expiry_idx ON staff_sessions (absolute_expires_at);

-- An SSO login in flight: state, nonce and PKCE verifier, used once and within minutes.
CREATE TABLE staff_oidc_flows (
  state_hash     text PRIMARY KEY,
  code_verifier  text NOT NULL,
  nonce          text NOT NULL,
  return_to      text NOT NULL CHECK (length(return_to) <= 2048),
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL
);
CREATE INDEX staff_oidc_flows_expiry_idx ON staff_oidc_flows (expires_at);

-- Every API request, without bodies, headers or tokens. The full log line lives in the log pipeline; this is what
-- support searches and what a payment's timeline shows. Request ids can come from the client (X-Request-Id), so
-- they are not unique: the row has its own key.
CREATE TABLE api_requests (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id   text NOT NULL CHECK (length(request_id) <= 128),
  tenant_id    text REFERENCES tenants(id),
  client_id    text CHECK (length(client_id) <= 64),
  staff_id     text,
  method       text NOT NULL CHECK (length(method) <= 16),
  route        text NOT NULL CHECK (length(route) <= 256),
  status_code  integer NOT NULL CHECK (status_code BETWEEN 100 AND 599),
  latency_ms   real NOT NULL CHECK (latency_ms >= 0),
  error_code   text CHECK (length(error_code) <= 64),
  -- the object the request acted on (path id, or the id of the object it created)
  object_id    text CHECK (length(object_id) <= 64),
  created_at   timestamptz NOT NULL
);
CREATE INDEX api_requests_created_idx ON api_requests (created_at);
CREATE INDEX api_requests_request_id_idx ON api_requests (request_id);
CREATE INDEX api_requests_tenant_idx ON api_requests (tenant_id, created_at);
CREATE INDEX api_requests_object_idx ON api_requests (object_id) WHERE object_id IS NOT NULL;

-- Internal notes staff leave on a payment; never shown to the tenant.
CREATE TABLE support_notes (
  id          text PRIMARY KEY CHECK (id ~ '^not_[0-9a-z]{26}$'),
  tenant_id   text NOT NULL REFERENCES tenants(id),
  payment_id  text NOT NULL REFERENCES payments(id),
  author_type text NOT NULL CHECK (author_type IN ('client', 'staff')),
  author_id   text NOT NULL,
  body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX support_notes_payment_idx ON support_notes (tenant_id, payment_id, created_at);

-- Worker processes say they are alive; the health page reads this across replicas.
CREATE TABLE worker_heartbeats (
  worker_id     text PRIMARY KEY CHECK (length(worker_id) <= 128),
  hostname      text NOT NULL CHECK (length(hostname) <= 255),
  started_at    timestamptz NOT NULL,
  last_beat_at  timestamptz NOT NULL
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_requests', 'support_notes']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())', t);
    EXECUTE format('CREATE POLICY cross_tenant_access ON %I USING (app_cross_tenant()) WITH CHECK (app_cross_tenant())', t);
  END LOOP;
END
$$;

-- The audit log names its actor, staff or API client, and what an action changed.
ALTER TABLE audit_log RENAME COLUMN actor_client_id TO actor_id;
ALTER TABLE audit_log
  ADD COLUMN actor_type text NOT NULL DEFAULT 'client' CHECK (actor_type IN ('client', 'staff')),
  ADD COLUMN before jsonb,
  ADD COLUMN after jsonb;
ALTER TABLE audit_log ALTER COLUMN actor_type DROP DEFAULT;
CREATE INDEX audit_log_created_idx ON audit_log (created_at, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, created_at);
CREATE INDEX audit_log_target_idx ON audit_log (target_id, created_at) WHERE target_id IS NOT NULL;
-- An audit trail the application can rewrite is not one.
REVOKE UPDATE, DELETE ON audit_log FROM nimbuspay_app;

-- Support looks payments up by the processor's reference across tenants.
CREATE INDEX payments_processor_reference_idx ON payments (processor_reference) WHERE processor_reference IS NOT NULL;
