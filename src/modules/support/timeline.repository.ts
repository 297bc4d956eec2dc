import type { Queryable } from '../../platform/db.js';
import type { AttemptRow, RefundRow, TransitionRow } from '../payments/index.js';
import type { EventRow } from './search.repository.js';
import type { ApiRequestRow } from './request-log.repository.js';
import type { AuditRow, NoteRow } from './support.repository.js';

// The rows of one payment's timeline, each query bounded by the payment (and its refunds and events).

const MAX_ROWS = 500;

export async function transitions(q: Queryable, tenantId: string, paymentId: string): Promise<TransitionRow[]> {
  return q.selectFrom('payment_transitions').selectAll().where('tenant_id', '=', tenantId).where('payment_id', '=', paymentId).orderBy('created_at').orderBy('id').limit(MAX_ROWS).execute();
}

export async function attempts(q: Queryable, tenantId: string, paymentId: string): Promise<AttemptRow[]> {
  return q.selectFrom('payment_attempts').selectAll().where('tenant_id', '=', tenantId).where('payment_id', '=', paymentId).orderBy('created_at').orderBy('id').limit(MAX_ROWS).execute();
}

export async function refunds(q: Queryable, tenantId: string, paymentId: string): Promise<RefundRow[]> {
  return q.selectFrom('refunds').selectAll().where('tenant_id', '=', tenantId).where('payment_id', '=', paymentId).orderBy('id').limit(MAX_ROWS).execute();
}

export async function events(q: Queryable, tenantId: string, objectIds: string[]): Promise<EventRow[]> {
  return q.selectFrom('events').selectAll().where('tenant_id', '=', tenantId).where('object_id', 'in', objectIds).orderBy('id').limit(MAX_ROWS).execute();
}

/** API requests that acted on these objects, support's own reads and actions excepted (the audit entries tell those). */
export async function requests(q: Queryable, objectIds: string[]): Promise<ApiRequestRow[]> {
  return q
    .selectFrom('api_requests')
    .selectAll()
    .where('object_id', 'in', objectIds)
    .where('route', 'not like', '/v1/support/%')
    .orderBy('id')
    .limit(MAX_ROWS)
    .execute();
}

export async function notes(q: Queryable, tenantId: string, paymentId: string): Promise<NoteRow[]> {
  return q.selectFrom('support_notes').selectAll().where('tenant_id', '=', tenantId).where('payment_id', '=', paymentId).orderBy('created_at').limit(MAX_ROWS).execute();
}

export async function auditEntries(q: Queryable, targetIds: string[]): Promise<AuditRow[]> {
  return q.selectFrom('audit_log').selectAll().where('target_id', 'in', targetIds).orderBy('id').limit(MAX_ROWS).execute();
}
