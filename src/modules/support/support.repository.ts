import { sql, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import type { AuditLogTable, SupportNotesTable } from '../../platform/db-schema.js';
import { pageWindow, type PageQuery } from '../../platform/pagination.js';
import { toPaymentRow, type PaymentRow, type RefundRow } from '../payments/index.js';

// Support's SQL. Support works across tenants: every function here runs in withCrossTenantTx, and filters by a
// tenant only when the caller asked for one.

export type WithTenantName<T> = T & { tenant_name: string };

/** A payments row joined with its tenant's name, checked by the payments module's toPaymentRow. */
function withTenantName({ tenant_name, ...row }: Parameters<typeof toPaymentRow>[0] & { tenant_name: string }): WithTenantName<PaymentRow> {
  return { ...toPaymentRow(row), tenant_name };
}
export type { TenantRow, ApiClientRow as ClientRow } from '../tenants/index.js';
export type AuditRow = Selectable<AuditLogTable>;
export type NoteRow = Selectable<SupportNotesTable>;
/** `before` is exclusive. */
export interface CreatedRange { gte?: Date | undefined; before?: Date | undefined }

// ---- payments and refunds -----------------------------------------------------------------------------------------

export interface PaymentFilter {
  tenantId?: string | undefined;
  status?: string | undefined;
  method?: string | undefined;
  amountGte?: number | undefined;
  amountLte?: number | undefined;
  currency?: string | undefined;
  created: CreatedRange;
  customerReference?: string | undefined;
  cardLast4?: string | undefined;
  processorReference?: string | undefined;
  requestId?: string | undefined;
}

export async function listPayments(q: Queryable, f: PaymentFilter, page: PageQuery): Promise<Array<WithTenantName<PaymentRow>>> {
  const w = pageWindow(page);
  const { tenantId, amountGte, amountLte, currency, customerReference, cardLast4, processorReference, requestId } = f;
  const { gte, before } = f.created;
  const { cursor } = w;
  const rows = await q
    .selectFrom('payments as p')
    .innerJoin('tenants as t', 't.id', 'p.tenant_id')
    .selectAll('p')
    .select('t.name as tenant_name')
    .$call((qb) => (tenantId === undefined ? qb : qb.where('p.tenant_id', '=', tenantId)))
    .$if(f.status !== undefined, (qb) => qb.where('p.status', '=', f.status as PaymentRow['status']))
    .$if(f.method !== undefined, (qb) => qb.where('p.method', '=', f.method as PaymentRow['method']))
    .$call((qb) => (amountGte === undefined ? qb : qb.where('p.amount', '>=', BigInt(amountGte))))
    .$call((qb) => (amountLte === undefined ? qb : qb.where('p.amount', '<=', BigInt(amountLte))))
    .$call((qb) => (currency === undefined ? qb : qb.where('p.currency', '=', currency.toLowerCase())))
    .$call((qb) => (gte === undefined ? qb : qb.where('p.created_at', '>=', gte)))
    .$call((qb) => (before === undefined ? qb : qb.where('p.created_at', '<', before)))
    .$call((qb) => (customerReference === undefined ? qb : qb.where('p.customer_reference', '=', customerReference)))
    .$call((qb) => (cardLast4 === undefined ? qb : qb.where('p.card_last4', '=', cardLast4)))
    .$call((qb) => (processorReference === undefined ? qb : qb.where((eb) => eb.or([
      eb('p.processor_reference', '=', processorReference),
      eb('p.id', 'in', eb.selectFrom('payment_attempts').select('payment_id').where('processor_reference', '=', processorReference)),
    ]))))
    .$call((qb) => (requestId === undefined ? qb : qb.where((eb) => {
      const touched = eb.selectFrom('api_requests').select('object_id').where('request_id', '=', requestId).where('object_id', 'is not', null);
      return eb.or([
        eb('p.id', 'in', touched as never),
        eb('p.id', 'in', eb.selectFrom('refunds').select('payment_id').where('id', 'in', touched as never)),
      ]);
    })))
    .$call((qb) => (cursor === undefined ? qb : qb.where('p.id', w.op, cursor)))
    .orderBy('p.id', w.order)
    .limit(w.take)
    .execute();
  return rows.map(withTenantName);
}

export async function findPayment(q: Queryable, id: string): Promise<WithTenantName<PaymentRow> | undefined> {
  const row = await q
    .selectFrom('payments as p')
    .innerJoin('tenants as t', 't.id', 'p.tenant_id')
    .selectAll('p')
    .select('t.name as tenant_name')
    .where('p.id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : withTenantName(row);
}

export interface RefundFilter { tenantId?: string | undefined; status?: string | undefined; paymentId?: string | undefined; created: CreatedRange }

export async function listRefunds(q: Queryable, f: RefundFilter, page: PageQuery): Promise<Array<WithTenantName<RefundRow>>> {
  const w = pageWindow(page);
  const { tenantId, paymentId } = f;
  const { gte, before } = f.created;
  const { cursor } = w;
  return q
    .selectFrom('refunds as r')
    .innerJoin('tenants as t', 't.id', 'r.tenant_id')
    .selectAll('r')
    .select('t.name as tenant_name')
    .$call((qb) => (tenantId === undefined ? qb : qb.where('r.tenant_id', '=', tenantId)))
    .$if(f.status !== undefined, (qb) => qb.where('r.status', '=', f.status as RefundRow['status']))
    .$call((qb) => (paymentId === undefined ? qb : qb.where('r.payment_id', '=', paymentId)))
    .$call((qb) => (gte === undefined ? qb : qb.where('r.created_at', '>=', gte)))
    .$call((qb) => (before === undefined ? qb : qb.where('r.created_at', '<', before)))
    .$call((qb) => (cursor === undefined ? qb : qb.where('r.id', w.op, cursor)))
    .orderBy('r.id', w.order)
    .limit(w.take)
    .execute();
}

// ---- tenants (the tenants themselves are read through the tenants module) ---------------------------------------

export interface VolumeRow { currency: string; count: number; succeeded: number; failed: number; succeeded_amount: bigint }

/** Payments created since `since`, per currency. */
export async function paymentVolume(q: Queryable, tenantId: string, since: Date): Promise<VolumeRow[]> {
  const res = await sql<VolumeRow>`
    SELECT currency, count(*)::int AS count,
           count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE status = 'failed')::int AS failed,
           coalesce(sum(amount) FILTER (WHERE status = 'succeeded'), 0)::bigint AS succeeded_amount
    FROM payments WHERE tenant_id = ${tenantId} AND created_at >= ${since}
    GROUP BY currency`.execute(q);
  return res.rows;
}

export async function recentFailedPayments(q: Queryable, tenantId: string, limit: number): Promise<Array<WithTenantName<PaymentRow>>> {
  const rows = await q
    .selectFrom('payments as p')
    .innerJoin('tenants as t', 't.id', 'p.tenant_id')
    .selectAll('p')
    .select('t.name as tenant_name')
    .where('p.tenant_id', '=', tenantId)
    .where('p.status', '=', 'failed')
    .orderBy('p.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(withTenantName);
}

export interface EndpointHealthRow {
  id: string;
  tenant_id: string;
  url: string;
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  failing_since: Date | null;
  pending: number;
  oldest_pending_at: Date | null;
  failed_24h: number;
}

/** A tenant's endpoints with their backlog (pending deliveries, oldest pending) and recent failed deliveries. */
export async function tenantEndpointHealth(q: Queryable, tenantId: string): Promise<EndpointHealthRow[]> {
  const res = await sql<EndpointHealthRow>`
    SELECT e.id, e.tenant_id, e.url, e.status, e.disabled_reason, e.failing_since,
           (SELECT count(*)::int FROM webhook_deliveries d WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = 'pending') AS pending,
           (SELECT min(d.created_at) FROM webhook_deliveries d WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = 'pending') AS oldest_pending_at,
           (SELECT count(*)::int FROM webhook_deliveries d WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status = 'failed'
              AND d.last_attempt_at >= now() - interval '24 hours') AS failed_24h
    FROM webhook_endpoints e WHERE e.tenant_id = ${tenantId} ORDER BY e.id`.execute(q);
  return res.rows;
}

// ---- webhook deliveries -----------------------------------------------------------------------------------------

export interface DeliveryRow {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  endpoint_url: string;
  event_id: string;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: number;
  next_attempt_at: Date | null;
  locked_until: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

function deliveries(q: Queryable) {
  return q
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .innerJoin('events as ev', 'ev.id', 'd.event_id')
    .select([
      'd.id', 'd.tenant_id', 'd.endpoint_id', 'e.url as endpoint_url', 'd.event_id', 'ev.type as event_type', 'd.status', 'd.attempt_count',
      'd.next_attempt_at', 'd.locked_until', 'd.last_status_code', 'd.last_error', 'd.delivered_at', 'd.created_at',
    ]);
}

export interface DeliveryFilter { tenantId?: string | undefined; endpointId?: string | undefined; status?: string | undefined; eventId?: string | undefined; eventIds?: string[] }

export async function listDeliveries(q: Queryable, f: DeliveryFilter, page: PageQuery): Promise<DeliveryRow[]> {
  const w = pageWindow(page);
  const { tenantId, endpointId, eventId } = f;
  const { cursor } = w;
  return deliveries(q)
    .$call((qb) => (tenantId === undefined ? qb : qb.where('d.tenant_id', '=', tenantId)))
    .$call((qb) => (endpointId === undefined ? qb : qb.where('d.endpoint_id', '=', endpointId)))
    .$if(f.status !== undefined, (qb) => qb.where('d.status', '=', f.status as DeliveryRow['status']))
    .$call((qb) => (eventId === undefined ? qb : qb.where('d.event_id', '=', eventId)))
    .$call((qb) => (cursor === undefined ? qb : qb.where('d.id', w.op, cursor)))
    .orderBy('d.id', w.order)
    .limit(w.take)
    .execute();
}

export async function findDelivery(q: Queryable, id: string): Promise<DeliveryRow | undefined> {
  return deliveries(q).where('d.id', '=', id).executeTakeFirst();
}

/** Deliveries of these events (a payment's timeline), with their attempts. */
export async function deliveriesOfEvents(q: Queryable, tenantId: string, eventIds: string[]): Promise<DeliveryRow[]> {
  if (eventIds.length === 0) return [];
  return deliveries(q).where('d.tenant_id', '=', tenantId).where('d.event_id', 'in', eventIds).orderBy('d.id').execute();
}

export async function findEndpointTenant(q: Queryable, endpointId: string): Promise<string | undefined> {
  return (await q.selectFrom('webhook_endpoints').select('tenant_id').where('id', '=', endpointId).executeTakeFirst())?.tenant_id;
}

// ---- audit log and notes ----------------------------------------------------------------------------------------

export interface AuditFilter { actorId?: string | undefined; action?: string | undefined; tenantId?: string | undefined; targetId?: string | undefined; created: CreatedRange }

export async function listAudit(q: Queryable, f: AuditFilter, page: PageQuery): Promise<AuditRow[]> {
  const w = pageWindow(page);
  const { actorId, action, tenantId, targetId } = f;
  const { gte, before } = f.created;
  const { cursor } = w;
  return q
    .selectFrom('audit_log')
    .selectAll()
    .$call((qb) => (actorId === undefined ? qb : qb.where('actor_id', '=', actorId)))
    .$call((qb) => (action === undefined ? qb : qb.where('action', '=', action)))
    .$call((qb) => (tenantId === undefined ? qb : qb.where('tenant_id', '=', tenantId)))
    .$call((qb) => (targetId === undefined ? qb : qb.where('target_id', '=', targetId)))
    .$call((qb) => (gte === undefined ? qb : qb.where('created_at', '>=', gte)))
    .$call((qb) => (before === undefined ? qb : qb.where('created_at', '<', before)))
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, cursor)))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}


export async function insertNote(tx: Tx, tenantId: string, row: Omit<NoteRow, 'tenant_id' | 'created_at'>): Promise<NoteRow> {
  return tx.insertInto('support_notes').values({ ...row, tenant_id: tenantId }).returningAll().executeTakeFirstOrThrow();
}
