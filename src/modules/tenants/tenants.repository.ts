import type { Queryable, Tx } from '../../platform/db.js';
import type { ApiClientsTable, TenantsTable } from '../../platform/db-schema.js';
import { pageWindow, type PageQuery } from '../../platform/pagination.js';
import type { Selectable } from 'kysely';

export type TenantRow = Selectable<TenantsTable>;
export type ApiClientRow = Selectable<ApiClientsTable>;

export async function insertTenant(tx: Tx, row: { id: string; name: string }): Promise<TenantRow> {
  return tx.insertInto('tenants').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findTenant(q: Queryable, tenantId: string): Promise<TenantRow | undefined> {
  return q.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
}

export async function findTenantByName(q: Queryable, name: string): Promise<TenantRow | undefined> {
  return q.selectFrom('tenants').selectAll().where('name', '=', name).orderBy('id').executeTakeFirst();
}

export async function listTenants(q: Queryable, page: PageQuery): Promise<TenantRow[]> {
  const w = pageWindow(page);
  const { cursor } = w;
  return q
    .selectFrom('tenants')
    .selectAll()
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, cursor)))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}

/** Tenant id first: a tenant's clients are only ever reached through their tenant. */
export async function insertClient(
  tx: Tx,
  tenantId: string | null,
  row: { id: string; name: string; secret_hash: string; scopes: string[] },
): Promise<ApiClientRow> {
  return tx.insertInto('api_clients').values({ ...row, tenant_id: tenantId }).returningAll().executeTakeFirstOrThrow();
}

export async function findTenantClient(q: Queryable, tenantId: string, clientId: string): Promise<ApiClientRow | undefined> {
  return q.selectFrom('api_clients').selectAll().where('tenant_id', '=', tenantId).where('id', '=', clientId).executeTakeFirst();
}

export async function listTenantClients(q: Queryable, tenantId: string): Promise<ApiClientRow[]> {
  return q.selectFrom('api_clients').selectAll().where('tenant_id', '=', tenantId).orderBy('id', 'desc').execute();
}

export type ClientForAuthentication = Pick<ApiClientRow, 'id' | 'tenant_id' | 'scopes' | 'status' | 'secret_hash'> & {
  tenant_status: TenantRow['status'] | null;
};

/**
 * The token endpoint's lookup: by client id alone, before any tenant is known (cross-tenant path). One statement
 * with the tenant's status, so a known id costs the same round trips as an unknown one.
 */
export async function findClientForAuthentication(q: Queryable, clientId: string): Promise<ClientForAuthentication | undefined> {
  return q
    .selectFrom('api_clients as c')
    .leftJoin('tenants as t', 't.id', 'c.tenant_id')
    .select(['c.id', 'c.tenant_id', 'c.scopes', 'c.status', 'c.secret_hash', 't.status as tenant_status'])
    .where('c.id', '=', clientId)
    .executeTakeFirst();
}

/**
 * Replaces a legacy (scrypt) hash after a successful authentication proved the secret. Only if the stored hash is
 * still the one verified, so a rotation that committed meanwhile is never overwritten with the old secret.
 */
export async function replaceLegacySecretHash(tx: Tx, clientId: string, verifiedHash: string, newHash: string): Promise<boolean> {
  const r = await tx
    .updateTable('api_clients')
    .set({ secret_hash: newHash })
    .where('id', '=', clientId)
    .where('secret_hash', '=', verifiedHash)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

export async function updateClientSecret(tx: Tx, tenantId: string | null, clientId: string, secretHash: string): Promise<ApiClientRow | undefined> {
  return tx
    .updateTable('api_clients')
    .set({ secret_hash: secretHash, secret_rotated_at: new Date() })
    .where('id', '=', clientId)
    .where((eb) => (tenantId === null ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', tenantId)))
    .where('status', '=', 'active')
    .returningAll()
    .executeTakeFirst();
}

export async function revokeClient(tx: Tx, tenantId: string, clientId: string): Promise<ApiClientRow | undefined> {
  return tx
    .updateTable('api_clients')
    .set({ status: 'revoked', revoked_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', clientId)
    .where('status', '=', 'active')
    .returningAll()
    .executeTakeFirst();
}

/** Ensures the platform admin client exists with this secret hash and scopes (start-up bootstrap). */
export async function upsertPlatformClient(tx: Tx, row: { id: string; name: string; secret_hash: string; scopes: string[] }): Promise<void> {
  await tx
    .insertInto('api_clients')
    .values({ ...row, tenant_id: null })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({ secret_hash: row.secret_hash, scopes: row.scopes, status: 'active', revoked_at: null, secret_rotated_at: new Date() }),
    )
    .execute();
}

