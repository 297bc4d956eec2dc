import type { Selectable } from 'kysely';
import type { Queryable } from '../../platform/db.js';
import type { EventsTable, PaymentAttemptsTable, StaffUsersTable, WebhookEndpointsTable } from '../../platform/db-schema.js';
import { toPaymentRow, type PaymentRow, type RefundRow } from '../payments/index.js';
import type { ApiRequestRow } from './request-log.repository.js';
import type { ClientRow, TenantRow } from './support.repository.js';

// The lookups behind the search box: each one indexed, each bounded.

export type EventRow = Selectable<EventsTable>;
export type EndpointRow = Selectable<WebhookEndpointsTable>;
export const SEARCH_LIMIT = 20;

export async function paymentById(q: Queryable, id: string): Promise<PaymentRow | undefined> {
  const row = await q.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toPaymentRow(row);
}

export async function refundById(q: Queryable, id: string): Promise<RefundRow | undefined> {
  return q.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function tenantById(q: Queryable, id: string): Promise<TenantRow | undefined> {
  return q.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function eventById(q: Queryable, id: string): Promise<EventRow | undefined> {
  return q.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function endpointById(q: Queryable, id: string): Promise<EndpointRow | undefined> {
  return q.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function deliveryById(q: Queryable, id: string) {
  return q
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as ev', 'ev.id', 'd.event_id')
    .select(['d.id', 'd.tenant_id', 'd.endpoint_id', 'd.status', 'd.attempt_count', 'ev.type as event_type', 'ev.object_id', 'ev.object_type'])
    .where('d.id', '=', id)
    .executeTakeFirst();
}

export async function attemptById(q: Queryable, id: string): Promise<Selectable<PaymentAttemptsTable> | undefined> {
  return q.selectFrom('payment_attempts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function clientById(q: Queryable, id: string): Promise<ClientRow | undefined> {
  return q.selectFrom('api_clients').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function staffById(q: Queryable, id: string): Promise<Pick<Selectable<StaffUsersTable>, 'id' | 'email' | 'display_name' | 'role' | 'status'> | undefined> {
  return q.selectFrom('staff_users').select(['id', 'email', 'display_name', 'role', 'status']).where('id', '=', id).executeTakeFirst();
}

export async function requestsByRequestId(q: Queryable, requestId: string): Promise<ApiRequestRow[]> {
  return q.selectFrom('api_requests').selectAll().where('request_id', '=', requestId).orderBy('id', 'desc').limit(SEARCH_LIMIT).execute();
}

export async function paymentsByReference(q: Queryable, column: 'processor_reference' | 'customer_reference' | 'card_last4', value: string): Promise<PaymentRow[]> {
  const rows = await q.selectFrom('payments').selectAll().where(column, '=', value).orderBy('id', 'desc').limit(SEARCH_LIMIT).execute();
  return rows.map(toPaymentRow);
}

export async function refundsByProcessorReference(q: Queryable, value: string): Promise<RefundRow[]> {
  return q.selectFrom('refunds').selectAll().where('processor_reference', '=', value).orderBy('id', 'desc').limit(SEARCH_LIMIT).execute();
}
