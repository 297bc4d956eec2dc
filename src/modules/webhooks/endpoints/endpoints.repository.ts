import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Queryable, Tx } from '../../../platform/db.js';
import type { WebhookEndpointsTable } from '../../../platform/db-schema.js';
import { pageWindow, type PageQuery } from '../../../platform/http/pagination.js';

export type EndpointRow = Selectable<WebhookEndpointsTable>;

export async function insertEndpoint(tx: Tx, tenantId: string, row: Omit<Insertable<WebhookEndpointsTable>, 'tenant_id'>): Promise<EndpointRow> {
  return tx.insertInto('webhook_endpoints').values({ ...row, tenant_id: tenantId }).returningAll().executeTakeFirstOrThrow();
}

export async function listEndpoints(q: Queryable, tenantId: string, page: PageQuery): Promise<EndpointRow[]> {
  const w = pageWindow(page);
  return q
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(w.cursor !== undefined, (qb) => qb.where('id', w.op, w.cursor!))
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

/** Endpoint health after a failed attempt: starts the failure clock if it is not running; returns when it started. */
export async function markEndpointFailing(tx: Tx, tenantId: string, endpointId: string, at: Date): Promise<Date | null> {
  const row = await tx
    .updateTable('webhook_endpoints')
    .set((eb) => ({ failing_since: eb.fn.coalesce('failing_since', eb.val(at)) }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', endpointId)
    .where('status', '=', 'enabled')
    .returning('failing_since')
    .executeTakeFirst();
  return row?.failing_since ?? null;
}

export async function markEndpointHealthy(tx: Tx, tenantId: string, endpointId: string): Promise<void> {
  await tx
    .updateTable('webhook_endpoints')
    .set({ failing_since: null })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', endpointId)
    .where('failing_since', 'is not', null)
    .execute();
}

/** Cross-tenant, for the metrics gauge. */
export async function countDisabledEndpoints(q: Queryable): Promise<number> {
  const row = await q.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<bigint>().as('n')).where('status', '=', 'disabled').executeTakeFirstOrThrow();
  return Number(row.n);
}
