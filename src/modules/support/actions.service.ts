import { withCrossTenantTx, type Db, type Tx } from '../../platform/db.js';
import { recordAudit } from '../../platform/audit-log.repository.js';
import { AppError, notFound } from '../../platform/errors.js';
import { isId, newId } from '../../platform/ids.js';
import { parseTimeFilter } from '../events/index.js';
import { scheduleReconcileNow } from '../payments/index.js';
import { enableEndpointInTx, replayEventsInTx, retryDeliveryInTx, toEndpointResource } from '../webhooks/index.js';
import * as repo from './support.repository.js';
import { toNote, toSupportPayment } from './support-resources.js';
import { deliveryDetail, type Caller } from './support.service.js';

// Support's actions. Each one runs its effect and writes its audit entry (who, what, why, before and after) in ONE
// transaction: an action that fails leaves no entry, and an entry never describes an action that did not happen.

interface AuditedChange {
  tenantId: string;
  action: string;
  targetId: string;
  reason: string | null;
  before: unknown;
  after: unknown;
  details?: Record<string, unknown>;
}

async function audit(tx: Tx, caller: Caller, change: AuditedChange): Promise<void> {
  await recordAudit(tx, { actor: caller.actor, ...change, requestId: caller.requestId });
}

const deliveryState = (d: { status: string; attempt_count: number; next_attempt_at: Date | string | null }) => ({
  status: d.status,
  attempt_count: d.attempt_count,
  next_attempt_at: d.next_attempt_at instanceof Date ? d.next_attempt_at.toISOString() : d.next_attempt_at,
});

export async function retryDelivery(db: Db, caller: Caller, deliveryId: string, reason: string) {
  if (!isId('webhookDelivery', deliveryId)) throw notFound('webhook_delivery', deliveryId);
  return withCrossTenantTx(db, async (tx) => {
    const before = await repo.findDelivery(tx, deliveryId);
    if (!before) throw notFound('webhook_delivery', deliveryId);
    await retryDeliveryInTx(tx, before.tenant_id, deliveryId);
    const after = await deliveryDetail(tx, deliveryId);
    await audit(tx, caller, {
      tenantId: before.tenant_id, action: 'support.webhook_delivery.retry', targetId: deliveryId, reason,
      before: deliveryState(before), after: deliveryState(after), details: { endpoint_id: before.endpoint_id, event_id: before.event_id },
    });
    return after;
  });
}

export async function replayEndpoint(db: Db, caller: Caller, endpointId: string, input: { reason: string; created: { gte: string | number; lte: string | number } }) {
  if (!isId('webhookEndpoint', endpointId)) throw notFound('webhook_endpoint', endpointId);
  const gte = parseTimeFilter(String(input.created.gte), 'created[gte]');
  const lte = parseTimeFilter(String(input.created.lte), 'created[lte]');
  if (gte > lte) throw new AppError('parameter_out_of_range', 'created[gte] must not be after created[lte]: swap them or widen the window.', { param: 'created[gte]' });
  return withCrossTenantTx(db, async (tx) => {
    const tenantId = await repo.findEndpointTenant(tx, endpointId);
    if (!tenantId) throw notFound('webhook_endpoint', endpointId);
    const result = await replayEventsInTx(tx, tenantId, endpointId, { gte, lte });
    await audit(tx, caller, {
      tenantId, action: 'support.webhook_endpoint.replay', targetId: endpointId, reason: input.reason,
      before: null, after: { deliveries_created: result.deliveries_created },
      details: { created_gte: gte.toISOString(), created_lte: lte.toISOString() },
    });
    return { object: 'webhook_replay' as const, endpoint_id: endpointId, replayed: result.deliveries_created };
  });
}

export async function enableEndpoint(db: Db, caller: Caller, endpointId: string, reason: string) {
  if (!isId('webhookEndpoint', endpointId)) throw notFound('webhook_endpoint', endpointId);
  return withCrossTenantTx(db, async (tx) => {
    const tenantId = await repo.findEndpointTenant(tx, endpointId);
    const changed = tenantId ? await enableEndpointInTx(tx, tenantId, endpointId) : undefined;
    if (!tenantId || !changed) throw notFound('webhook_endpoint', endpointId);
    const state = (e: typeof changed.before) => ({ status: e.status, disabled_reason: e.disabled_reason, failing_since: e.failing_since?.toISOString() ?? null });
    await audit(tx, caller, {
      tenantId, action: 'support.webhook_endpoint.enable', targetId: endpointId, reason, before: state(changed.before), after: state(changed.after),
    });
    return { ...toEndpointResource(changed.after), tenant_id: tenantId, failing_since: changed.after.failing_since?.toISOString() ?? null };
  });
}

export async function reconcilePayment(db: Db, caller: Caller, paymentId: string, reason: string) {
  if (!isId('payment', paymentId)) throw notFound('payment', paymentId);
  return withCrossTenantTx(db, async (tx) => {
    const payment = await repo.findPayment(tx, paymentId);
    if (!payment) throw notFound('payment', paymentId);
    const { before, after } = await scheduleReconcileNow(tx, payment.tenant_id, paymentId);
    const state = (rows: typeof before) => ({
      attempts: rows.map((a) => ({ id: a.id, status: a.status, next_reconcile_at: a.next_reconcile_at?.toISOString() ?? null })),
    });
    await audit(tx, caller, {
      tenantId: payment.tenant_id, action: 'support.payment.reconcile', targetId: paymentId, reason, before: state(before), after: state(after),
    });
    return { payment: toSupportPayment(payment), attempts_scheduled: after.length };
  });
}

export async function addNote(db: Db, caller: Caller, paymentId: string, input: { body: string; reason?: string | undefined }) {
  if (!isId('payment', paymentId)) throw notFound('payment', paymentId);
  return withCrossTenantTx(db, async (tx) => {
    const payment = await repo.findPayment(tx, paymentId);
    if (!payment) throw notFound('payment', paymentId);
    const note = toNote(await repo.insertNote(tx, payment.tenant_id, {
      id: newId('supportNote'), payment_id: paymentId, author_type: caller.actor.type, author_id: caller.actor.id, body: input.body,
    }));
    await audit(tx, caller, {
      tenantId: payment.tenant_id, action: 'support.payment.note', targetId: paymentId, reason: input.reason ?? null,
      before: null, after: { note_id: note.id, body: note.body },
    });
    return note;
  });
}
