import { invalidRequest, resourceMissing, type StripeLocalError } from './stripe-errors.js';
import { insertObject, lockObject, lockReferencedObject, updateObject, type StripeObject } from './stripe-local-store.js';
import { deleteTasksFor } from './work-store.js';
import { newStripeId, unixSeconds } from './stripe-ids.js';
import { buildDispute } from './stripe-objects.js';
import { emit, fail, ok, renderPaymentIntent, type ServiceContext } from './service-context.js';
import type { ApiResult } from './idempotency.js';

const CANCELABLE = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action'];

/** Stripe attaches the PaymentIntent to errors about its state. */
function unexpectedState(pi: StripeObject, message: string): StripeLocalError {
  const error = invalidRequest(message, { code: 'payment_intent_unexpected_state' });
  error.body.payment_intent = pi;
  return error;
}

export async function lockPaymentIntent(ctx: ServiceContext, id: string, param = 'intent'): Promise<StripeObject> {
  const pi = await lockObject(ctx.tx, 'payment_intent', id);
  if (!pi) throw resourceMissing('payment_intent', id, param);
  return pi;
}

async function lockCharge(ctx: ServiceContext, pi: StripeObject): Promise<StripeObject | undefined> {
  return typeof pi.latest_charge === 'string' ? lockObject(ctx.tx, 'charge', pi.latest_charge) : undefined;
}

export async function capturePaymentIntent(
  ctx: ServiceContext,
  id: string,
  input: { amountToCapture?: number; expand: string[] },
): Promise<ApiResult> {
  const pi = await lockPaymentIntent(ctx, id);
  if (pi.status !== 'requires_capture') {
    return fail(
      ctx,
      unexpectedState(
        pi,
        `This PaymentIntent could not be captured because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      ),
    );
  }
  const capturable = pi.amount_capturable as number;
  const amount = input.amountToCapture ?? capturable;
  if (amount > capturable) {
    return fail(
      ctx,
      invalidRequest(`The amount_to_capture (${amount}) is greater than the amount_capturable (${capturable}) of this PaymentIntent.`, {
        code: 'amount_too_large',
        param: 'amount_to_capture',
      }),
    );
  }
  // a payment intent in requires_capture has its authorized charge
  if (typeof pi.latest_charge !== 'string') throw new Error(`stripe-local: ${String(pi.id)} is in requires_capture without a charge`);
  const charge = await lockReferencedObject(ctx.tx, 'charge', pi.latest_charge);
  // A partial capture releases the rest of the authorization: Stripe shows the released part as refunded.
  Object.assign(charge, {
    captured: true,
    amount_captured: amount,
    amount_refunded: (charge.amount as number) - amount,
    refunded: amount === 0,
    balance_transaction: newStripeId('balanceTransaction'),
  });
  Object.assign(pi, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
  await updateObject(ctx.tx, charge);
  await updateObject(ctx.tx, pi);
  await emit(ctx, 'charge.captured', charge);
  await emit(ctx, 'payment_intent.succeeded', pi);
  return ok(await renderPaymentIntent(ctx.tx, pi, input.expand));
}

export async function cancelPaymentIntent(
  ctx: ServiceContext,
  id: string,
  input: { cancellationReason?: string; expand: string[] },
): Promise<ApiResult> {
  const pi = await lockPaymentIntent(ctx, id);
  const types = pi.payment_method_types as string[];
  // A bank debit still `processing` has not left for the bank in this simulation, so it can still be canceled.
  const processingBankDebit = pi.status === 'processing' && types.includes('us_bank_account');
  if (!CANCELABLE.includes(pi.status as string) && !processingBankDebit) {
    return fail(
      ctx,
      unexpectedState(
        pi,
        `You cannot cancel this PaymentIntent because it has a status of ${String(pi.status)}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}, processing.`,
      ),
    );
  }
  const charge = await lockCharge(ctx, pi);
  if (pi.status === 'requires_capture' && charge) {
    // Canceling an authorized payment releases the authorization, which Stripe shows as a full refund.
    Object.assign(charge, { amount_refunded: charge.amount, refunded: true });
    await updateObject(ctx.tx, charge);
    await emit(ctx, 'charge.refunded', charge);
  }
  if (processingBankDebit && charge) {
    await deleteTasksFor(ctx.tx, pi.id);
    Object.assign(charge, { status: 'failed', failure_message: 'The payment was canceled before it was submitted to the bank.' });
    await updateObject(ctx.tx, charge);
    await emit(ctx, 'charge.failed', charge);
  }
  Object.assign(pi, {
    status: 'canceled',
    canceled_at: unixSeconds(ctx.nowMs),
    cancellation_reason: input.cancellationReason ?? null,
    amount_capturable: 0,
  });
  await updateObject(ctx.tx, pi);
  await emit(ctx, 'payment_intent.canceled', pi);
  return ok(await renderPaymentIntent(ctx.tx, pi, input.expand));
}

/**
 * A late return of a settled debit (or a card chargeback): the charge is marked disputed and a Dispute object is
 * created. Local-only helper; real Stripe creates disputes when the bank or network says so.
 */
export async function disputePaymentIntent(
  ctx: ServiceContext,
  id: string,
  input: { reason?: string; amount?: number; status?: string },
): Promise<ApiResult> {
  const pi = await lockPaymentIntent(ctx, id);
  const charge = await lockCharge(ctx, pi);
  if (pi.status !== 'succeeded' || !charge) {
    return fail(ctx, unexpectedState(pi, `Only a succeeded PaymentIntent can be disputed; this one has a status of ${String(pi.status)}.`));
  }
  if (charge.disputed) return fail(ctx, invalidRequest(`Charge ${charge.id} has already been disputed.`, { code: 'charge_disputed' }));
  const bank = (charge.payment_method_details as Record<string, unknown>).type === 'us_bank_account';
  const dispute = buildDispute({
    charge,
    amount: input.amount ?? (charge.amount_captured as number),
    reason: input.reason ?? (bank ? 'debit_not_authorized' : 'fraudulent'),
    // Bank debit returns cannot be contested, so they arrive decided; card disputes wait for evidence.
    status: input.status ?? (bank ? 'lost' : 'needs_response'),
  });
  await insertObject(ctx.tx, 'dispute', dispute);
  charge.disputed = true;
  await updateObject(ctx.tx, charge);
  await emit(ctx, 'charge.dispute.created', dispute);
  return ok(dispute);
}
