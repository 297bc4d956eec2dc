import type { Queryable } from '../../platform/db.js';
import { pageWindow, type PageQuery } from '../../platform/pagination.js';
import type { ApiRequestRow } from './request-log.repository.js';

export interface TenantRequestFilter {
  status?: number | undefined;
  /** 2 for 2xx … */
  statusClass?: number | undefined;
  method?: string | undefined;
  route?: string | undefined;
  objectId?: string | undefined;
  createdGte?: Date | undefined;
}

/** The tenant's own request log, newest first (the row id is the cursor). */
export async function listTenantRequests(q: Queryable, tenantId: string, f: TenantRequestFilter, page: PageQuery): Promise<ApiRequestRow[]> {
  const w = pageWindow(page);
  const { status, statusClass, method, route, objectId, createdGte } = f;
  const { cursor } = w;
  return q
    .selectFrom('api_requests')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$call((qb) => (status === undefined ? qb : qb.where('status_code', '=', status)))
    .$call((qb) => (statusClass === undefined ? qb : qb.where('status_code', '>=', statusClass * 100).where('status_code', '<', statusClass * 100 + 100)))
    .$call((qb) => (method === undefined ? qb : qb.where('method', '=', method)))
    .$call((qb) => (route === undefined ? qb : qb.where('route', '=', route)))
    .$call((qb) => (objectId === undefined ? qb : qb.where('object_id', '=', objectId)))
    .$call((qb) => (createdGte === undefined ? qb : qb.where('created_at', '>=', createdGte)))
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, BigInt(cursor))))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}
