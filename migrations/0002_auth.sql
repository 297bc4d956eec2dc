CREATE TABLE api_clients (
  id                 text PRIMARY KEY CHECK (length(id) BETWEEN 3 AND 64),
  tenant_id          text REFERENCES tenants(id),
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  secret_hash        text NOT NULL,
  scopes             text[] NOT NULL CHECK (cardinality(scopes) > 0),
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at         timestamptz NOT NULL DEFAULT now(),
  secret_rotated_at  timestamptz,
  revoked_at         timestamptz,
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
  -- platform scopes only on platform clients (no tenant), tenant scopes only on tenant clients
  CHECK (
    (tenant_id IS NULL AND scopes <@ ARRAY['platform:admin', 'support:read', 'support:write']::text[])
    OR (tenant_id IS NOT NULL AND scopes <@ ARRAY['payments:read', 'payments:write', 'refunds:write', 'events:read',
                                                  'webhooks:read', 'webhooks:write']::text[])
  )
);
CREATE INDEX api_clients_tenant_idx ON api_clients (tenant_id, id);

-- JWT signing keys. Private keys are encrypted with a key derived from NIMBUSPAY_MASTER_KEY.
-- Lifecycle: next (published, not signing) -> active (signing) -> retiring (published until its last token expires) -> retired.
CREATE TABLE signing_keys (
  kid               text PRIMARY KEY,
  alg               text NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
  public_jwk        jsonb NOT NULL,
  private_key_enc   text NOT NULL,
  status            text NOT NULL CHECK (status IN ('next', 'active', 'retiring', 'retired')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  -- a 'next' key is published in the JWKS at creation and starts signing only at activate_after, so every
  -- verifier's JWKS cache has seen it first
  activate_after    timestamptz,
  activated_at      timestamptz,
  retiring_at       timestamptz,
  retire_after      timestamptz,
  retired_at        timestamptz
);
-- at most one key signs at a time
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE status = 'active';

-- Failed client authentications, for throttling per client id (shared by all API replicas).
CREATE TABLE client_auth_failures (
  client_id     text NOT NULL,
  -- the client address (as the trusted proxy reports it): failures from one address never lock a client out
  -- for everyone else (client ids are not secret)
  source        text NOT NULL,
  failures      integer NOT NULL,
  window_start  timestamptz NOT NULL,
  locked_until  timestamptz,
  PRIMARY KEY (client_id, source)
);
