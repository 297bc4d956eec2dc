import { sql, type Insertable, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import { pageWindow, type PageQuery } from '../../platform/pagination.js';
import type { ApiRequestsTable } from '../../platform/db-schema.js';
import type { CreatedRange } from './support.repository.js';

// SQL of the request log (api_requests) and the worker heartbeats. The log is written and purged across tenants.

export type ApiRequestRow = Selectable<ApiRequestsTable>;
export type NewApiRequest = Insertable<ApiRequestsTable>;

/** What the support console and a tenant's own request log filter by; a tenant's reads always name the tenant. */
export interface RequestLogFilter {
  tenantId?: string | undefined;
  status?: number | undefined;
  /** 2 for 2xx … */
  statusClass?: number | undefined;
  method?: string | undefined;
  route?: string | undefined;
  requestId?: string | undefined;
  objectId?: string | undefined;
  created?: CreatedRange;
}

/** Logged requests, newest first (the row id is the cursor). */
export async function listRequests(q: Queryable, f: RequestLogFilter, page: PageQuery): Promise<ApiRequestRow[]> {
  const w = pageWindow(page);
  const { tenantId, status, statusClass, method, route, requestId, objectId } = f;
  const { gte, before } = f.created ?? {};
  const { cursor } = w;
  return q
    .selectFrom('api_requests')
    .selectAll()
    .$call((qb) => (tenantId === undefined ? qb : qb.where('tenant_id', '=', tenantId)))
    .$call((qb) => (status === undefined ? qb : qb.where('status_code', '=', status)))
    .$call((qb) => (statusClass === undefined ? qb : qb.where('status_code', '>=', statusClass * 100).where('status_code', '<', statusClass * 100 + 100)))
    .$call((qb) => (method === undefined ? qb : qb.where('method', '=', method)))
    .$call((qb) => (route === undefined ? qb : qb.where('route', '=', route)))
    .$call((qb) => (requestId === undefined ? qb : qb.where('request_id', '=', requestId)))
    .$call((qb) => (objectId === undefined ? qb : qb.where('object_id', '=', objectId)))
    .$call((qb) => (gte === undefined ? qb : qb.where('created_at', '>=', gte)))
    .$call((qb) => (before === undefined ? qb : qb.where('created_at', '<', before)))
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, BigInt(cursor))))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}

/** One multi-row insert per flush: the recorder never costs a request a round trip. */
export async function insertRequests(tx: Tx, rows: readonly NewApiRequest[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.insertInto('api_requests').values([...rows]).execute();
}

/** Deletes up to `batchSize` rows created before `cutoff`, oldest first; returns how many went. */
export async function deleteRequestsBefore(tx: Tx, cutoff: Date, batchSize: number): Promise<number> {
  const result = await sql`
    DELETE FROM api_requests WHERE id IN (
      SELECT id FROM api_requests WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
    )`.execute(tx);
  return Number(result.numAffectedRows ?? 0n);
}

export async function upsertHeartbeat(q: Queryable, row: { worker_id: string; hostname: string; started_at: Date }): Promise<void> {
  await q
    .insertInto('worker_heartbeats')
    .values({ ...row, last_beat_at: sql`now()` })
    .onConflict((oc) => oc.column('worker_id').doUpdateSet({ hostname: row.hostname, started_at: row.started_at, last_beat_at: sql`now()` }))
    .execute();
}

export async function deleteHeartbeat(q: Queryable, workerId: string): Promise<void> {
  await q.deleteFrom('worker_heartbeats').where('worker_id', '=', workerId).execute();
}

export async function deleteStaleHeartbeats(q: Queryable, olderThanMs: number): Promise<number> {
  const result = await q
    .deleteFrom('worker_heartbeats')
    .where('last_beat_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000}::float8)`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
