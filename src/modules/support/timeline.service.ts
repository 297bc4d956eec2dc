import { withCrossTenantTx } from '../../platform/db.js';
import { notFound } from '../../platform/errors.js';
import { isId } from '../../platform/ids.js';
import * as supportRepo from './support.repository.js';
import * as repo from './timeline.repository.js';
import { listDeliveryAttempts } from '../webhooks/index.js';
import { logsInsightsUrl, toDeliveryAttempt, toSupportPayment, toSupportRefund } from './support-resources.js';
import type { ReadDeps } from './support.service.js';
import type { SupportPayment, TimelineEntry } from './support.schema.js';

const money = (amount: bigint | number, currency: string): string => `${Number(amount)} ${currency.toUpperCase()}`;

/**
 * Everything that happened to one payment, in one answer and in time order: status transitions, processor attempts
 * (with their reconciliation), refunds, events, webhook deliveries and each of their attempts, the API requests
 * that touched the payment or its refunds, internal notes and support's audited actions on it.
 */
export async function paymentTimeline(deps: ReadDeps, id: string): Promise<{ object: 'payment_timeline'; payment: SupportPayment; entries: TimelineEntry[] }> {
  if (!isId('payment', id)) throw notFound('payment', id);
  return withCrossTenantTx(deps.db, async (tx) => {
    const payment = await supportRepo.findPayment(tx, id);
    if (!payment) throw notFound('payment', id);
    const tenantId = payment.tenant_id;
    const entries: TimelineEntry[] = [];
    const add = (at: Date, kind: TimelineEntry['kind'], entryId: string, summary: string, data: Record<string, unknown>) =>
      entries.push({ at: at.toISOString(), kind, id: entryId, summary, data });

    for (const t of await repo.transitions(tx, tenantId, id)) {
      add(t.created_at, 'transition', t.id, `${t.from_status ?? 'created'} → ${t.to_status}${t.rail_status ? ` (rail ${t.rail_status})` : ''}: ${t.reason}`,
        { from_status: t.from_status, to_status: t.to_status, rail_status: t.rail_status, reason: t.reason });
    }
    for (const a of await repo.attempts(tx, tenantId, id)) {
      const reconciled = a.reconcile_count > 0 ? `, reconciled ${a.reconcile_count}×` : '';
      add(a.created_at, 'processor_attempt', a.id,
        `${a.operation} ${money(a.amount, payment.currency)}: ${a.status}${a.failure_code ? ` (${a.failure_code})` : ''}${a.latency_ms !== null ? `, ${a.latency_ms} ms` : ''}${reconciled}`,
        {
          operation: a.operation, status: a.status, amount: Number(a.amount), latency_ms: a.latency_ms, failure_code: a.failure_code,
          failure_message: a.failure_message, reconcile_count: a.reconcile_count, next_reconcile_at: a.next_reconcile_at?.toISOString() ?? null,
          processor_reference: a.processor_reference, refund_id: a.refund_id, completed_at: a.completed_at?.toISOString() ?? null,
        });
    }
    const refunds = await repo.refunds(tx, tenantId, id);
    for (const r of refunds) {
      add(r.created_at, 'refund', r.id, `Refund ${money(r.amount, r.currency)}: ${r.status}${r.failure_code ? ` (${r.failure_code})` : ''}`,
        toSupportRefund({ ...r, tenant_name: payment.tenant_name }) as unknown as Record<string, unknown>);
    }
    const objectIds = [id, ...refunds.map((r) => r.id)];
    const events = await repo.events(tx, tenantId, objectIds);
    for (const e of events) add(e.created_at, 'event', e.id, `${e.type} (${e.object_id})`, { type: e.type, object_id: e.object_id });
    const deliveries = await supportRepo.deliveriesOfEvents(tx, tenantId, events.map((e) => e.id));
    const attempts = await listDeliveryAttempts(tx, tenantId, deliveries.map((d) => d.id));
    for (const d of deliveries) {
      add(d.created_at, 'webhook_delivery', d.id, `${d.event_type} to ${d.endpoint_url}: ${d.status} after ${d.attempt_count} attempt(s)`, {
        event_id: d.event_id, event_type: d.event_type, endpoint_id: d.endpoint_id, endpoint_url: d.endpoint_url, status: d.status,
        attempt_count: d.attempt_count, next_attempt_at: d.next_attempt_at?.toISOString() ?? null, last_status_code: d.last_status_code,
      });
    }
    const endpointOf = new Map(deliveries.map((d) => [d.id, d.endpoint_id]));
    for (const a of attempts) {
      const { id: attemptId, ...rest } = toDeliveryAttempt(a);
      add(a.attempted_at, 'webhook_attempt', attemptId,
        `Webhook attempt ${a.outcome}${a.status_code !== null ? ` (HTTP ${a.status_code})` : ''}${a.error ? `: ${a.error}` : ''}, ${a.latency_ms} ms`,
        { delivery_id: a.delivery_id, endpoint_id: endpointOf.get(a.delivery_id) ?? null, ...rest });
    }
    for (const r of await repo.requests(tx, objectIds)) {
      add(r.created_at, 'request', r.id.toString(), `${r.method} ${r.route} → ${r.status_code}${r.error_code ? ` ${r.error_code}` : ''} (${r.latency_ms} ms)`, {
        request_id: r.request_id, method: r.method, route: r.route, status_code: r.status_code, latency_ms: r.latency_ms, error_code: r.error_code,
        client_id: r.client_id, staff_id: r.staff_id, object_id: r.object_id, logs_insights_url: logsInsightsUrl(deps.logs, r.request_id, r.created_at),
      });
    }
    for (const n of await repo.notes(tx, tenantId, id)) {
      add(n.created_at, 'note', n.id, `Note by ${n.author_id}`, { author_type: n.author_type, author_id: n.author_id, body: n.body });
    }
    for (const a of await repo.auditEntries(tx, [...objectIds, ...deliveries.map((d) => d.id)])) {
      add(a.created_at, 'audit', a.id, `${a.action} by ${a.actor_id}${a.reason ? `: ${a.reason}` : ''}`, {
        action: a.action, actor_type: a.actor_type, actor_id: a.actor_id, reason: a.reason, before: a.before ?? null, after: a.after ?? null, request_id: a.request_id,
      });
    }
    // Stable: entries of the same instant keep the order above (a transition before the event it caused).
    entries.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
    return { object: 'payment_timeline' as const, payment: toSupportPayment(payment), entries };
  });
}
