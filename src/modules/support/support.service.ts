import { withCrossTenantTx, type Db, type Tx } from '../../platform/db.js';
import { recordAudit } from '../../platform/audit-log.repository.js';
import { notFound } from '../../platform/errors.js';
import { isId } from '../../platform/ids.js';
import { toPage, type PageQuery } from '../../platform/pagination.js';
import * as tenants from '../tenants/index.js';
import { listDeliveryAttempts } from '../webhooks/index.js';
import type { Actor } from '../../platform/http/scopes.js';
import { parseTimeFilter } from '../events/index.js';
import * as repo from './support.repository.js';
import * as requestLog from './request-log.repository.js';
import {
  toAuditEntry, toDeliveryAttempt, toRequestEntry, toSupportDelivery, toSupportPayment, toSupportRefund, type LogsConfig,
} from './support-resources.js';
import type {
  ListAuditFilter, ListDeliveriesFilter, ListPaymentsFilter, ListRefundsFilter, ListRequestsFilter, SupportDeliveryDetail, SupportPayment, VolumeResource,
} from './support.schema.js';

/** Who is asking, for the audit log. */
export interface Caller {
  actor: Actor;
  requestId: string;
}

export interface ReadDeps {
  db: Db;
  logs: LogsConfig;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `created[lte]` includes the whole unit it names (the second of a unix time, the millisecond of an RFC 3339 time), so a
 * `created_at` copied from a resource finds that resource although the database keeps microseconds.
 */
export function createdRange(q: { 'created[gte]'?: string | undefined; 'created[lte]'?: string | undefined }): repo.CreatedRange {
  const lte = q['created[lte]'];
  return {
    gte: q['created[gte]'] === undefined ? undefined : parseTimeFilter(q['created[gte]'], 'created[gte]'),
    before: lte === undefined ? undefined : new Date(parseTimeFilter(lte, 'created[lte]').getTime() + (/^\d+$/.test(lte) ? 1000 : 1)),
  };
}

/** Reading across tenants is audited too: one `support.search` entry naming the filters, with the read. */
export async function auditSearch(tx: Tx, caller: Caller, scope: string, filters: Record<string, unknown>): Promise<void> {
  const details = Object.fromEntries(Object.entries({ scope, ...filters }).filter(([, v]) => v !== undefined));
  await recordAudit(tx, { actor: caller.actor, action: 'support.search', details, requestId: caller.requestId });
}

/** Runs a list read across tenants, auditing it when no tenant narrows it. */
async function read<T>(db: Db, caller: Caller, scope: string, filters: Record<string, unknown> & { tenant?: string | undefined }, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withCrossTenantTx(db, async (tx) => {
    const result = await fn(tx);
    if (filters.tenant === undefined) await auditSearch(tx, caller, scope, filters);
    return result;
  });
}

export async function listPayments(deps: ReadDeps, caller: Caller, query: ListPaymentsFilter) {
  const filter: repo.PaymentFilter = {
    tenantId: query.tenant,
    status: query.status,
    method: query.method,
    amountGte: query['amount[gte]'],
    amountLte: query['amount[lte]'],
    currency: query.currency,
    created: createdRange(query),
    customerReference: query.customer_reference,
    cardLast4: query.card_last4,
    processorReference: query.processor_reference,
    requestId: query.request_id,
  };
  const rows = await read(deps.db, caller, 'payments', query, (tx) => repo.listPayments(tx, filter, query));
  return { object: 'list' as const, ...toPage(rows.map(toSupportPayment), query) };
}

export async function getPayment(deps: ReadDeps, id: string): Promise<SupportPayment> {
  const row = isId('payment', id) ? await withCrossTenantTx(deps.db, (tx) => repo.findPayment(tx, id)) : undefined;
  if (!row) throw notFound('payment', id);
  return toSupportPayment(row);
}

export async function listRefunds(deps: ReadDeps, caller: Caller, query: ListRefundsFilter) {
  const filter: repo.RefundFilter = { tenantId: query.tenant, status: query.status, paymentId: query.payment, created: createdRange(query) };
  const rows = await read(deps.db, caller, 'refunds', query, (tx) => repo.listRefunds(tx, filter, query));
  return { object: 'list' as const, ...toPage(rows.map(toSupportRefund), query) };
}

export async function listRequests(deps: ReadDeps, caller: Caller, query: ListRequestsFilter) {
  const filter: requestLog.RequestLogFilter = {
    tenantId: query.tenant,
    route: query.route,
    method: query.method,
    statusClass: query.status_class === undefined ? undefined : Number(query.status_class[0]),
    requestId: query.request_id,
    objectId: query.object_id,
    created: createdRange(query),
  };
  const rows = await read(deps.db, caller, 'requests', query, (tx) => requestLog.listRequests(tx, filter, query));
  return { object: 'list' as const, ...toPage(rows.map((r) => toRequestEntry(r, deps.logs)), query) };
}

const toTenant = (row: repo.TenantRow) => ({ id: row.id, object: 'tenant' as const, name: row.name, status: row.status, created_at: row.created_at.toISOString() });

export async function listTenants(deps: ReadDeps, query: PageQuery) {
  const rows = await withCrossTenantTx(deps.db, (tx) => tenants.listTenants(tx, query));
  return { object: 'list' as const, ...toPage(rows.map(toTenant), query) };
}

function toVolume(rows: repo.VolumeRow[]): VolumeResource {
  return {
    count: rows.reduce((n, r) => n + r.count, 0),
    succeeded: rows.reduce((n, r) => n + r.succeeded, 0),
    failed: rows.reduce((n, r) => n + r.failed, 0),
    amount_by_currency: Object.fromEntries(rows.map((r) => [r.currency, Number(r.succeeded_amount)])),
  };
}

const RECENT_FAILURES = 10;

export async function tenantOverview(deps: ReadDeps, id: string, now: Date = new Date()) {
  if (!isId('tenant', id)) throw notFound('tenant', id);
  return withCrossTenantTx(deps.db, async (tx) => {
    const tenant = await tenants.findTenant(tx, id);
    if (!tenant) throw notFound('tenant', id);
    const [clients, day, week, failures, endpoints] = [
      await tenants.listTenantClients(tx, id),
      await repo.paymentVolume(tx, id, new Date(now.getTime() - DAY_MS)),
      await repo.paymentVolume(tx, id, new Date(now.getTime() - 7 * DAY_MS)),
      await repo.recentFailedPayments(tx, id, RECENT_FAILURES),
      await repo.tenantEndpointHealth(tx, id),
    ];
    return {
      object: 'tenant_overview' as const,
      tenant: toTenant(tenant),
      // never the secret hash: the console shows who can call, not how
      clients: clients.map((c) => ({ client_id: c.id, name: c.name, scopes: c.scopes, status: c.status, created_at: c.created_at.toISOString(), revoked_at: c.revoked_at?.toISOString() ?? null })),
      volume: { last_24h: toVolume(day), last_7d: toVolume(week) },
      recent_failures: failures.map(toSupportPayment),
      webhook_endpoints: endpoints.map((e) => ({
        id: e.id,
        url: e.url,
        status: e.status,
        disabled_reason: e.disabled_reason,
        failing_since: e.failing_since?.toISOString() ?? null,
        pending_deliveries: e.pending,
        oldest_pending_at: e.oldest_pending_at?.toISOString() ?? null,
        failed_deliveries_24h: e.failed_24h,
      })),
    };
  });
}

export async function listDeliveries(deps: ReadDeps, caller: Caller, query: ListDeliveriesFilter) {
  const filter: repo.DeliveryFilter = { tenantId: query.tenant, endpointId: query.endpoint, status: query.status, eventId: query.event };
  const rows = await read(deps.db, caller, 'webhook_deliveries', query, (tx) => repo.listDeliveries(tx, filter, query));
  return { object: 'list' as const, ...toPage(rows.map(toSupportDelivery), query) };
}

export async function getDelivery(deps: ReadDeps, id: string): Promise<SupportDeliveryDetail> {
  if (!isId('webhookDelivery', id)) throw notFound('webhook_delivery', id);
  return withCrossTenantTx(deps.db, (tx) => deliveryDetail(tx, id));
}

export async function deliveryDetail(tx: Tx, id: string): Promise<SupportDeliveryDetail> {
  const row = await repo.findDelivery(tx, id);
  if (!row) throw notFound('webhook_delivery', id);
  const attempts = await listDeliveryAttempts(tx, row.tenant_id, [id]);
  return { ...toSupportDelivery(row), attempts: attempts.map(toDeliveryAttempt) };
}

export async function listAudit(deps: ReadDeps, caller: Caller, query: ListAuditFilter) {
  const filter: repo.AuditFilter = { actorId: query.actor, action: query.action, tenantId: query.tenant, targetId: query.target, created: createdRange(query) };
  const rows = await read(deps.db, caller, 'audit_log', query, (tx) => repo.listAudit(tx, filter, query));
  return { object: 'list' as const, ...toPage(rows.map(toAuditEntry), query) };
}
