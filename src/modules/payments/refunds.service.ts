import { withTenantTx } from '../../platform/db.js';
import { AppError, notFound } from '../../platform/errors.js';
import { isId, newId } from '../../platform/ids.js';
import { toPage } from '../../platform/pagination.js';
import * as repo from './payments.repository.js';
import { toRefundResource } from './payment-resource.js';
import { applyRefundOutcome } from './payment-outcomes.js';
import { outcomeContext, requireOperationAllowed, requireProcessorReference, type PaymentsDeps } from './payment-operations.js';
import type { CreateRefundInput, RefundResource } from './payments.schema.js';

/**
 * POST /v1/payments/{id}/refunds. The amount is reserved on the payment (`amount_refunded`) in the transaction that
 * creates the refund, under the payment's row lock and a CHECK (refunded ≤ captured), so parallel refunds can never
 * add up to more than was captured; a refund that fails gives its reservation back.
 * Card payments are refunded by the acquirer; settled bank transfers by a credit back to the same account.
 */
export async function createRefund(deps: PaymentsDeps, tenantId: string, paymentId: string, input: CreateRefundInput, idempotencyKey: string): Promise<RefundResource> {
  if (!isId('payment', paymentId)) throw notFound('payment', paymentId);
  const resumed = await withTenantTx(deps.db, tenantId, (tx) => repo.findRefundByIdempotencyKey(tx, tenantId, idempotencyKey));
  if (resumed) {
    // The key's fingerprint covers the path, so a resumed request is for this payment; should that ever not hold,
    // a refund of another payment must never be the answer.
    if (resumed.payment_id !== paymentId) {
      throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used to refund another payment; use a new key.', { param: 'Idempotency-Key' });
    }
    return toRefundResource(resumed);
  }
  if (deps.processor.circuitState() === 'open') {
    throw new AppError('processor_unavailable', 'The payment processor is unavailable; nothing was refunded. Retry later with the same Idempotency-Key.');
  }

  const { payment, processorReference, refund, attempt } = await withTenantTx(deps.db, tenantId, async (tx) => {
    const payment = await repo.lockPaymentForUpdate(tx, tenantId, paymentId);
    if (!payment) throw notFound('payment', paymentId);
    requireOperationAllowed(payment, 'refund');
    // the card authorization or the bank debit the refund goes back through; checked before the amount is reserved
    const processorReference = requireProcessorReference(payment);
    const refundable = payment.amount_captured - payment.amount_refunded - payment.amount_reversed;
    if (refundable <= 0n) throw new AppError('invalid_state', 'This payment has nothing left to refund.');
    const amount = input.amount === undefined ? refundable : BigInt(input.amount);
    if (amount > refundable) {
      throw new AppError('amount_too_large', `Refund amount (${amount}) exceeds the refundable amount (${refundable}): send at most ${refundable}, or omit amount to refund the rest.`, { param: 'amount' });
    }
    const refund = await repo.insertRefund(tx, tenantId, {
      id: newId('refund'),
      payment_id: paymentId,
      amount,
      currency: payment.currency,
      reason: input.reason ?? null,
      idempotency_key: idempotencyKey,
    });
    await repo.adjustAmountRefunded(tx, tenantId, paymentId, amount);
    const attempt = await repo.insertAttempt(tx, tenantId, {
      payment_id: paymentId,
      refund_id: refund.id,
      operation: payment.method === 'card' ? 'refund' : 'bank_credit',
      amount,
      reconcileAfterMs: deps.inFlightMs,
    });
    return { payment, processorReference, refund, attempt };
  });

  const outcome =
    payment.method === 'card'
      ? await deps.processor.refund({ idempotencyKey: attempt.id, authorizationReference: processorReference, amountMinor: refund.amount })
      : await deps.processor.createBankCredit({ idempotencyKey: attempt.id, debitReference: processorReference, amountMinor: refund.amount });
  const updated = await withTenantTx(deps.db, tenantId, (tx) => applyRefundOutcome(tx, outcomeContext(deps), tenantId, attempt, outcome, null));
  return toRefundResource(updated);
}

export async function getRefund(deps: PaymentsDeps, tenantId: string, id: string): Promise<RefundResource> {
  if (!isId('refund', id)) throw notFound('refund', id);
  const row = await withTenantTx(deps.db, tenantId, (tx) => repo.findRefund(tx, tenantId, id));
  if (!row) throw notFound('refund', id);
  return toRefundResource(row);
}

export async function listPaymentRefunds(deps: PaymentsDeps, tenantId: string, paymentId: string, page: { limit: number; starting_after?: string | undefined; ending_before?: string | undefined }) {
  if (!isId('payment', paymentId)) throw notFound('payment', paymentId);
  return withTenantTx(deps.db, tenantId, async (tx) => {
    if (!(await repo.findPayment(tx, tenantId, paymentId))) throw notFound('payment', paymentId);
    const rows = await repo.listRefunds(tx, tenantId, paymentId, page);
    return { object: 'list' as const, ...toPage(rows.map(toRefundResource), page) };
  });
}
