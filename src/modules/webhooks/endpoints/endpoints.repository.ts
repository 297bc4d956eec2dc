import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Queryable, Tx } from '../../../platform/db.js';
import type { WebhookEndpointsTable } from '../../../platform/db-schema.js';
import { pageWindow, type PageQuery } from '../../../platform/pagination.js';

export type EndpointRow = Selectable<WebhookEndpointsTable>;

export async function insertEndpoint(tx: Tx, tenantId: string, row: Omit<Insertable<WebhookEndpointsTable>, 'tenant_id'>): Promise<EndpointRow> {
  return tx.insertInto('webhook_endpoints').values({ ...row, tenant_id: tenantId }).returningAll().executeTakeFirstOrThrow();
}

export async function listEndpoints(q: Queryable, tenantId: string, page: PageQuery): Promise<EndpointRow[]> {
  const w = pageWindow(page);
  const { cursor } = w;
  return q
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, cursor)))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}

export async function findEndpoint(q: Queryable, tenantId: string, endpointId: string): Promise<EndpointRow | undefined> {
  return q.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', endpointId).executeTakeFirst();
}

export async function lockEndpoint(tx: Tx, tenantId: string, endpointId: string): Promise<EndpointRow | undefined> {
  return tx
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', endpointId)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateEndpoint(
  tx: Tx,
  tenantId: string,
  endpointId: string,
  changes: Omit<Updateable<WebhookEndpointsTable>, 'id' | 'tenant_id'>,
): Promise<EndpointRow | undefined> {
  return tx
    .updateTable('webhook_endpoints')
    .set({ ...changes, updated_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', endpointId)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Disables an enabled endpoint; returns undefined when it was already disabled (or is gone), so the caller
 * records the `webhook_endpoint.disabled` event once.
 */
export async function disableEndpoint(tx: Tx, tenantId: string, endpointId: string, reason: string): Promise<EndpointRow | undefined> {
  return tx
    .updateTable('webhook_endpoints')
    .set({ status: 'disabled', disabled_reason: reason, updated_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', endpointId)
    .where('status', '=', 'enabled')
    .returningAll()
    .executeTakeFirst();
}

export async function deleteEndpoint(tx: Tx, tenantId: string, endpointId: string): Promise<boolean> {
  const result = await tx.deleteFrom('webhook_endpoints').where('tenant_id', '=', tenantId).where('id', '=', endpointId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Endpoint health after a round of failed attempts: starts each endpoint's failure clock if it is not running
 * (at its earliest failure in the round); returns when each clock started.
 */
export async function markEndpointsFailing(
  tx: Tx,
  failures: ReadonlyArray<{ tenantId: string; endpointId: string; failedAt: Date }>,
): Promise<Array<{ tenant_id: string; id: string; failing_since: Date }>> {
  if (failures.length === 0) return [];
  const rows = JSON.stringify(failures.map((f) => ({ tenant_id: f.tenantId, id: f.endpointId, failed_at: f.failedAt.toISOString() })));
  const result = await sql<{ tenant_id: string; id: string; failing_since: Date }>`
    UPDATE webhook_endpoints e SET failing_since = coalesce(e.failing_since, f.failed_at)
    FROM jsonb_to_recordset(${rows}::jsonb) AS f(tenant_id text, id text, failed_at timestamptz)
    WHERE e.tenant_id = f.tenant_id AND e.id = f.id AND e.status = 'enabled'
    RETURNING e.tenant_id, e.id, e.failing_since
  `.execute(tx);
  return result.rows;
}

/** A success stops the failure clock of its endpoint. */
export async function markEndpointsHealthy(tx: Tx, endpoints: ReadonlyArray<{ tenantId: string; endpointId: string }>): Promise<void> {
  if (endpoints.length === 0) return;
  const rows = JSON.stringify(endpoints.map((e) => ({ tenant_id: e.tenantId, id: e.endpointId })));
  await sql`
    UPDATE webhook_endpoints e SET failing_since = NULL
    FROM jsonb_to_recordset(${rows}::jsonb) AS h(tenant_id text, id text)
    WHERE e.tenant_id = h.tenant_id AND e.id = h.id AND e.failing_since IS NOT NULL
  `.execute(tx);
}

/** Cross-tenant, for the metrics gauge. */
export async function countDisabledEndpoints(q: Queryable): Promise<number> {
  const row = await q.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<bigint>().as('n')).where('status', '=', 'disabled').executeTakeFirstOrThrow();
  return Number(row.n);
}
