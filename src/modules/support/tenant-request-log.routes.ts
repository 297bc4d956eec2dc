import { withTenantTx, type Db } from '../../platform/db.js';
import type { HttpApp } from '../../platform/http/app.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import { ListSchema, errorResponses } from '../../platform/http/pagination.js';
import { toPage } from '../../platform/pagination.js';
import { requireTenant } from '../../platform/http/auth-hook.js';
import { parseTimeFilter } from '../events/index.js';
import { listRequests, type ApiRequestRow } from './request-log.repository.js';
import { requestLogFields } from './support-resources.js';
import { ListTenantRequestLogsQuery, TenantRequestLogEntrySchema, type ListTenantRequestLogsQueryType, type TenantRequestLogEntry } from './tenant-request-log.schema.js';

function toTenantRequestLogEntry(row: ApiRequestRow): TenantRequestLogEntry {
  return { object: 'request_log', ...requestLogFields(row) };
}

export async function listTenantRequestLog(db: Db, tenantId: string, query: ListTenantRequestLogsQueryType) {
  const filter = {
    tenantId,
    status: query.status,
    statusClass: query.status_class === undefined ? undefined : Number(query.status_class[0]),
    method: query.method,
    route: query.route,
    objectId: query.object_id,
    created: { gte: query['created[gte]'] === undefined ? undefined : parseTimeFilter(query['created[gte]'], 'created[gte]') },
  };
  // Row-level security holds the tenant too: the log is written across tenants, read by one.
  const rows = await withTenantTx(db, tenantId, (tx) => listRequests(tx, filter, query));
  return { object: 'list' as const, ...toPage(rows.map(toTenantRequestLogEntry), query) };
}

/** GET /v1/request_logs: the calling tenant's own API requests (what `nimbuspay logs tail` shows). */
export function registerTenantRequestLogRoute(app: HttpApp, deps: { db: Db }): void {
  app.get('/v1/request_logs', {
    schema: {
      ...routeSecurity('logs:read'),
      tags: ['Request logs'],
      operationId: 'listRequestLogs',
      summary: "List the tenant's own API requests, newest first",
      description: 'Method, route template, status, latency and error code of each request the tenant\'s clients made — never '
        + 'bodies, headers or tokens. Entries are written in batches a fraction of a second after the answer. To follow the log, '
        + 'ask again with `ending_before` set to the newest id seen. Kept for REQUEST_LOG_RETENTION_DAYS.',
      querystring: ListTenantRequestLogsQuery,
      response: { 200: ListSchema(TenantRequestLogEntrySchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => listTenantRequestLog(deps.db, requireTenant(request.auth).tenantId, request.query));
}
