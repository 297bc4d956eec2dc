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
  return q
    .selectFrom('api_requests')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(f.status !== undefined, (qb) => qb.where('status_code', '=', f.status!))
    .$if(f.statusClass !== undefined, (qb) => qb.where('status_code', '>=', f.statusClass! * 100).where('status_code', '<', f.statusClass! * 100 + 100))
    .$if(f.method !== undefined, (qb) => qb.where('method', '=', f.method!))
    .$if(f.route !== undefined, (qb) => qb.where('route', '=', f.route!))
    .$if(f.objectId !== undefined, (qb) => qb.where('object_id', '=', f.objectId!))
    .$if(f.createdGte !== undefined, (qb) => qb.where('created_at', '>=', f.createdGte!))
    .$if(w.cursor !== undefined, (qb) => qb.where('id', w.op, BigInt(w.cursor!)))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}
