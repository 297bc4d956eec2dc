import type { Db } from '../../platform/db.js';
import { recordAudit, type AuditEntry } from '../../platform/audit-log.repository.js';
import { withCrossTenantTx } from '../../platform/db.js';
import { AppError, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { Secret } from '../../platform/secret.js';
import {
  DUMMY_CLIENT_SECRET_HASH, generateToken, hashClientSecret, isLegacyClientSecretHash, verifyClientSecret, verifySecret,
  type KeyRing,
} from '../../platform/crypto.js';
import { ALL_TENANT_SCOPES, PLATFORM_SCOPES, TENANT_SCOPES, type AuthContext } from '../../platform/http/scopes.js';
import { toPage, type PageQuery } from '../../platform/pagination.js';
import * as repo from './tenants.repository.js';
import type { ApiClientResource, TenantResource } from './tenants.schema.js';

export function toTenantResource(row: repo.TenantRow): TenantResource {
  return { id: row.id, object: 'tenant', name: row.name, status: row.status, created_at: row.created_at.toISOString() };
}

export function toClientResource(row: repo.ApiClientRow): ApiClientResource {
  return {
    client_id: row.id,
    object: 'api_client',
    tenant_id: row.tenant_id,
    name: row.name,
    scopes: row.scopes,
    status: row.status,
    created_at: row.created_at.toISOString(),
    secret_rotated_at: row.secret_rotated_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
  };
}

const newClientSecret = () => new Secret(generateToken('ncs_'));

interface Actor {
  auth: AuthContext;
  requestId: string;
}

// Platform admin operations are the explicit cross-tenant path: they act on tenants by id, never on "the current tenant".
export async function createTenant(db: Db, input: { name: string }, actor: Actor): Promise<TenantResource> {
  return withCrossTenantTx(db, async (tx) => {
    const tenant = await repo.insertTenant(tx, { id: newId('tenant'), name: input.name.trim() });
    await recordAudit(tx, audit(actor, tenant.id, 'tenant.create', tenant.id, { name: tenant.name }));
    return toTenantResource(tenant);
  });
}

export async function listTenants(db: Db, page: PageQuery) {
  return withCrossTenantTx(db, async (tx) => {
    const rows = await repo.listTenants(tx, page);
    return { object: 'list' as const, ...toPage(rows.map(toTenantResource), page) };
  });
}

export async function getTenant(db: Db, tenantId: string): Promise<TenantResource> {
  const row = await withCrossTenantTx(db, (tx) => repo.findTenant(tx, tenantId));
  if (!row) throw notFound('tenant', tenantId);
  return toTenantResource(row);
}

export async function createClient(
  db: Db,
  keyRing: KeyRing,
  tenantId: string,
  input: { name: string; scopes: string[] },
  actor: Actor | undefined,
): Promise<ApiClientResource & { client_secret: string }> {
  const bad = input.scopes.find((s) => !(ALL_TENANT_SCOPES as string[]).includes(s));
  if (bad) throw new AppError('parameter_invalid_enum', `Scope '${bad}' cannot be granted to a tenant client; tenant scopes are: ${ALL_TENANT_SCOPES.join(', ')}.`, { param: 'scopes' });
  const secret = newClientSecret();
  const secretHash = hashClientSecret(keyRing, secret);
  return withCrossTenantTx(db, async (tx) => {
    if (!(await repo.findTenant(tx, tenantId))) throw notFound('tenant', tenantId);
    const row = await repo.insertClient(tx, tenantId, { id: newId('client'), name: input.name.trim(), secret_hash: secretHash, scopes: input.scopes });
    if (actor) await recordAudit(tx, audit(actor, tenantId, 'client.create', row.id, { scopes: input.scopes }));
    return { ...toClientResource(row), client_secret: secret.reveal() };
  });
}

export async function listClients(db: Db, tenantId: string): Promise<ApiClientResource[]> {
  return withCrossTenantTx(db, async (tx) => {
    if (!(await repo.findTenant(tx, tenantId))) throw notFound('tenant', tenantId);
    return (await repo.listTenantClients(tx, tenantId)).map(toClientResource);
  });
}

export async function rotateClientSecret(
  db: Db,
  keyRing: KeyRing,
  tenantId: string,
  clientId: string,
  actor: Actor | undefined,
): Promise<ApiClientResource & { client_secret: string }> {
  const secret = newClientSecret();
  const secretHash = hashClientSecret(keyRing, secret);
  return withCrossTenantTx(db, async (tx) => {
    const row = await repo.updateClientSecret(tx, tenantId, clientId, secretHash);
    if (!row) throw notFound('api_client', clientId);
    if (actor) await recordAudit(tx, audit(actor, tenantId, 'client.rotate_secret', clientId, {}));
    return { ...toClientResource(row), client_secret: secret.reveal() };
  });
}

export async function revokeClient(db: Db, tenantId: string, clientId: string, actor: Actor): Promise<ApiClientResource> {
  return withCrossTenantTx(db, async (tx) => {
    const row = await repo.revokeClient(tx, tenantId, clientId);
    if (!row) throw notFound('api_client', clientId);
    await recordAudit(tx, audit(actor, tenantId, 'client.revoke', clientId, {}));
    return toClientResource(row);
  });
}

export interface AuthenticatedClient {
  id: string;
  tenantId: string | null;
  scopes: string[];
}

export interface ClientSecretDeps {
  db: Db;
  keyRing: KeyRing;
  /** bounds the scrypt work legacy hashes still cost (it may refuse by throwing) */
  hashWork: { run<T>(work: () => Promise<T>): Promise<T> };
}

/** What a client id's secret is checked against; for an unknown id, a stand-in that matches nothing. */
export interface ClientCredentials {
  row: repo.ClientForAuthentication | undefined;
  storedHash: string;
}

/**
 * The token endpoint's lookup, one statement whether the id exists or not. Separate from the check below so the
 * caller can bound the database part and the hashing part each on its own.
 */
export async function loadClientCredentials(db: Db, clientId: string): Promise<ClientCredentials> {
  const row = await withCrossTenantTx(db, (tx) => repo.findClientForAuthentication(tx, clientId));
  return { row, storedHash: row?.secret_hash ?? DUMMY_CLIENT_SECRET_HASH };
}

/**
 * Checks a client secret. Unknown, revoked and wrong-secret clients all cost one HMAC and answer 'invalid' or
 * 'revoked' (which the token endpoint answers alike), so neither the answer nor its timing tells which client ids
 * exist. A client still holding a legacy scrypt hash costs one scrypt, within `hashWork`, and gets the keyed hash
 * once its secret is proven.
 */
export async function checkClientSecret(deps: ClientSecretDeps, credentials: ClientCredentials, secret: string): Promise<
  { ok: true; client: AuthenticatedClient } | { ok: false; reason: 'invalid' | 'revoked' | 'tenant_suspended' }
> {
  const { row, storedHash } = credentials;
  const legacy = isLegacyClientSecretHash(storedHash);
  const valid = legacy
    ? await deps.hashWork.run(() => verifySecret(secret, storedHash))
    : verifyClientSecret(deps.keyRing, secret, storedHash);
  if (!row || !valid) return { ok: false, reason: 'invalid' };
  if (row.status !== 'active') return { ok: false, reason: 'revoked' };
  // its own short transaction: the read above was committed before the scrypt, which must not hold a connection
  if (legacy) {
    const upgraded = hashClientSecret(deps.keyRing, new Secret(secret));
    await withCrossTenantTx(deps.db, (tx) => repo.replaceLegacySecretHash(tx, row.id, storedHash, upgraded));
  }
  if (row.tenant_id && row.tenant_status !== 'active') return { ok: false, reason: 'tenant_suspended' };
  return { ok: true, client: { id: row.id, tenantId: row.tenant_id, scopes: row.scopes } };
}

/** Start-up: the platform admin client exists with the configured secret (hash only) and the admin scope. */
export async function ensurePlatformAdminClient(db: Db, keyRing: KeyRing, clientId: string, secret: Secret<string>): Promise<void> {
  const secretHash = hashClientSecret(keyRing, secret);
  await withCrossTenantTx(db, (tx) =>
    repo.upsertPlatformClient(tx, { id: clientId, name: 'Platform admin', secret_hash: secretHash, scopes: Object.keys(PLATFORM_SCOPES).filter((s) => s === 'platform:admin') }),
  );
}

/**
 * A platform API client (no tenant) holding platform scopes, e.g. support:read for a monitoring or support tool.
 * The secret is returned once. Without `keyRing` (callers written before the keyed hash) the secret is stored as a
 * legacy scrypt hash, which its first successful authentication replaces.
 */
export async function createPlatformClient(
  db: Db,
  input: { name: string; scopes: string[] },
  keyRing: KeyRing,
): Promise<ApiClientResource & { client_secret: string }> {
  const bad = input.scopes.find((s) => !Object.keys(PLATFORM_SCOPES).includes(s));
  if (bad) throw new AppError('parameter_invalid_enum', `Scope '${bad}' is not a platform scope; platform scopes are: ${Object.keys(PLATFORM_SCOPES).join(', ')}.`, { param: 'scopes' });
  const secret = newClientSecret();
  const secretHash = hashClientSecret(keyRing, secret);
  return withCrossTenantTx(db, async (tx) => {
    const row = await repo.insertClient(tx, null, { id: newId('client'), name: input.name.trim(), secret_hash: secretHash, scopes: input.scopes });
    return { ...toClientResource(row), client_secret: secret.reveal() };
  });
}

/** Development: a demo tenant with a client holding every tenant scope, with a fresh secret at each start. */
export async function ensureDemoTenant(db: Db, keyRing: KeyRing): Promise<{ tenantId: string; clientId: string; clientSecret: string }> {
  const name = 'Demo Tenant';
  const tenantId = await withCrossTenantTx(db, async (tx) => {
    const existing = await repo.findTenantByName(tx, name);
    return existing?.id ?? (await repo.insertTenant(tx, { id: newId('tenant'), name })).id;
  });
  const clients = await listClients(db, tenantId);
  const demo = clients.find((c) => c.name === 'Demo client' && c.status === 'active');
  const scopes = Object.keys(TENANT_SCOPES);
  const created = demo
    ? await rotateClientSecret(db, keyRing, tenantId, demo.client_id, undefined)
    : await createClient(db, keyRing, tenantId, { name: 'Demo client', scopes }, undefined);
  return { tenantId, clientId: created.client_id, clientSecret: created.client_secret };
}

function audit(actor: Actor, tenantId: string | null, action: string, targetId: string | null, details: Record<string, unknown>): AuditEntry {
  return { actor: actor.auth.actor, tenantId, action, targetId, details, requestId: actor.requestId };
}
