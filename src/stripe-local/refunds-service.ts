import { invalidRequest, resourceMissing } from './stripe-errors.js';
import { findInternal, insertObject, listObjects, lockObject, lockReferencedObject, updateObject } from './stripe-local-store.js';
import { scheduleTask } from './work-store.js';
import { buildRefund } from './stripe-objects.js';
import { emit, fail, ok, type ServiceContext } from './service-context.js';
import type { ApiResult } from './idempotency.js';

export interface CreateRefundInput {
  paymentIntent: string;
  amount?: number;
  reason?: string;
  metadata: Record<string, string>;
}

/** Refunds that still hold money back from the charge: a failed or canceled refund gave it back. */
const LIVE_REFUND_STATUSES = ['pending', 'succeeded', 'requires_action'];

function dollars(amount: number): string {
  return `$${(amount / 100).toFixed(2)}`;
}

export async function createRefund(ctx: ServiceContext, input: CreateRefundInput): Promise<ApiResult> {
  const pi = await lockObject(ctx.tx, 'payment_intent', input.paymentIntent);
  if (!pi) return fail(ctx, resourceMissing('payment_intent', input.paymentIntent, 'payment_intent'));
  const charge = typeof pi.latest_charge === 'string' ? await lockObject(ctx.tx, 'charge', pi.latest_charge) : undefined;
  if (pi.status !== 'succeeded' || !charge) {
    return fail(ctx, invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, { param: 'payment_intent' }));
  }
  if (charge.disputed) {
    return fail(ctx, invalidRequest(`Charge ${charge.id} has been charged back; cannot issue a refund.`, { code: 'charge_disputed' }));
  }
  const refunds = await listObjects(ctx.tx, 'refund', { filter: { field: 'charge', value: charge.id }, limit: 10_000 });
  const refunded = refunds.filter((r) => LIVE_REFUND_STATUSES.includes(r.status as string)).reduce((sum, r) => sum + (r.amount as number), 0);
  const refundable = (charge.amount_captured as number) - refunded;
  if (refundable <= 0) {
    return fail(ctx, invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' }));
  }
  const amount = input.amount ?? refundable;
  if (amount > refundable) {
    return fail(
      ctx,
      invalidRequest(`Refund amount (${dollars(amount)}) is greater than unrefunded amount on charge (${dollars(refundable)})`, {
        code: 'amount_too_large',
        param: 'amount',
      }),
    );
  }
  const bank = (charge.payment_method_details as Record<string, unknown>).type === 'us_bank_account';
  const refund = buildRefund({
    charge,
    amount,
    // A bank refund is a credit transfer that takes the settlement time; a card refund is accepted at once.
    status: bank ? 'pending' : 'succeeded',
    metadata: input.metadata,
    bank,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
  });
  await insertObject(ctx.tx, 'refund', refund);
  const amountRefunded = (charge.amount_refunded as number) + amount;
  Object.assign(charge, { amount_refunded: amountRefunded, refunded: amountRefunded >= (charge.amount as number) });
  await updateObject(ctx.tx, charge);
  await emit(ctx, 'refund.created', refund);
  await emit(ctx, 'charge.refunded', charge);
  if (bank) {
    await scheduleTask(ctx.tx, { kind: 'refund_settle', objectId: refund.id, dueInMs: ctx.settlementDelayMs });
  } else if ((await findInternal(ctx.tx, charge.id)).refundBehaviour === 'fails_later') {
    await scheduleTask(ctx.tx, { kind: 'refund_fail', objectId: refund.id, dueInMs: ctx.settlementDelayMs });
  }
  return ok(refund);
}

export async function settleRefund(ctx: ServiceContext, refundId: string, outcome: 'succeeded' | 'failed'): Promise<void> {
  const refund = await lockObject(ctx.tx, 'refund', refundId);
  if (!refund || refund.status === outcome || refund.status === 'failed' || refund.status === 'canceled') return;
  const charge = await lockReferencedObject(ctx.tx, 'charge', refund.charge as string);
  const before = { status: refund.status };
  refund.status = outcome;
  if (outcome === 'failed') {
    Object.assign(refund, { failure_reason: 'expired_or_canceled_card', failure_balance_transaction: `${String(refund.balance_transaction)}_failure` });
    // The money comes back to the merchant's balance: the charge counts it as unrefunded again.
    const amountRefunded = (charge.amount_refunded as number) - (refund.amount as number);
    Object.assign(charge, { amount_refunded: amountRefunded, refunded: amountRefunded >= (charge.amount as number) });
    await updateObject(ctx.tx, charge);
  }
  await updateObject(ctx.tx, refund);
  await emit(ctx, 'refund.updated', refund, before);
  if (outcome === 'failed') await emit(ctx, 'refund.failed', refund);
  await emit(ctx, 'charge.refund.updated', refund, before);
}

