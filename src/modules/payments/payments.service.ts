import { withTenantTx } from '../../platform/db.js';
import { AppError, notFound } from '../../platform/errors.js';
import { isId, newId } from '../../platform/ids.js';
import { toPage } from '../../platform/pagination.js';
import * as repo from './payments.repository.js';
import * as statements from './card-payment-statements.repository.js';
import { cardFingerprint } from './card.js';
import { applyPaymentEvent } from './payment-state.js';
import { recordPaymentEvent, toPaymentResource } from './payment-resource.js';
import { applyCardOutcome } from './payment-outcomes.js';
import {
  elapsedMs, outcomeContext, requireOperationAllowed, requireProcessorReference, type ChangedPayment, type CreatedPayment, type CreationKey, type PaymentsDeps,
} from './payment-operations.js';
import type { ValidatedPayment } from './payment-validation.js';
import { createBankTransfer } from './bank-transfers.service.js';
import type { ListPaymentsFilter, PaymentResource } from './payments.schema.js';

/**
 * POST /v1/payments. Transaction 1 claims the key and creates the payment and its attempt; the processor is called
 * with no transaction open; transaction 2 applies the outcome and stores the idempotent answer. For a card each
 * transaction is one statement (`create_card_payment`, `settle_card_attempt`): two database round trips. A request
 * resumed under the same Idempotency-Key after a crash finds the payment it created and returns it as it is now
 * (the reconciler finishes whatever was left open). A bank transfer is created in one transaction
 * (bank-transfers.service.ts: createBankTransfer).
 */
export async function createPayment(
  deps: PaymentsDeps,
  tenantId: string,
  valid: ValidatedPayment,
  idempotency: CreationKey,
): Promise<CreatedPayment> {
  if (valid.method === 'bank_transfer') return createBankTransfer(deps, tenantId, valid, idempotency);
  const { input, amountMinor, currency, card, checked } = valid;
  const idempotencyKey = idempotency.key;
  if (deps.processor.circuitState() === 'open') {
    throw new AppError('processor_unavailable', 'The payment processor is unavailable; nothing was charged. Retry later with the same Idempotency-Key.');
  }
  const values: statements.NewCardPayment['payment'] = {
    id: newId('payment'),
    amount: amountMinor,
    currency,
    capture_method: input.capture_method ?? 'automatic',
    description: input.description ?? null,
    metadata: input.metadata ?? {},
    customer_reference: input.customer_reference ?? null,
    card_brand: checked.brand,
    card_last4: checked.last4,
    card_exp_month: card.exp_month,
    card_exp_year: card.exp_year,
    card_fingerprint: cardFingerprint(card.number, deps.keyRing.key('card-fingerprint')),
  };
  // The timestamps are the database's: the statement stamps them into the serialised resource and returns them.
  const pending = newCardPaymentRow(tenantId, idempotencyKey, values, new Date(0));
  const attempt = { id: newId('attempt'), operation: 'authorize' as const, amount: amountMinor };
  const created = await statements.createCardPayment(deps.db, tenantId, {
    claim: idempotency.claimRequest,
    payment: values,
    attemptId: attempt.id,
    reconcileAfterMs: deps.inFlightMs,
    transitionId: newId('transition'),
    eventId: newId('event'),
    resourceJson: JSON.stringify(toPaymentResource(pending)),
  });
  if (created.outcome === 'resumed') {
    const resumedId = created.payment_id;
    if (resumedId === null) throw new Error('create_card_payment resumed a payment under the key but returned no payment_id');
    const resumed = await withTenantTx(deps.db, tenantId, (tx) => repo.findPayment(tx, tenantId, resumedId));
    if (!resumed) throw new Error(`payment ${resumedId} created under the key is gone`);
    return { outcome: 'resumed', payment: toPaymentResource(resumed) };
  }
  if (created.outcome !== 'created') {
    idempotency.acceptClaim({ ...created, outcome: created.outcome }); // throws: the key is not ours, and nothing was written
    throw new Error(`create_card_payment claimed the key but created nothing (${created.outcome})`);
  }
  const { created_at: createdAt, updated_at: updatedAt } = created;
  if (createdAt === null || updatedAt === null) throw new Error(`create_card_payment created payment ${values.id} but returned no timestamps`);
  const payment: repo.PaymentRow = { ...pending, created_at: createdAt, updated_at: updatedAt };

  const started = process.hrtime.bigint();
  const outcome = await deps.processor.authorize({
    idempotencyKey: attempt.id,
    amountMinor,
    currency,
    card: { number: card.number, expMonth: card.exp_month, expYear: card.exp_year, cvc: card.cvc },
    capture: values.capture_method === 'automatic',
  });
  const latency = elapsedMs(started);
  const settled = await applyCardOutcome(deps.db, outcomeContext(deps), tenantId, payment, attempt, outcome, latency, { key: idempotencyKey, status: idempotency.createdAnswerStatus });
  // superseded (the reconciler applied the outcome first): the answer is the payment as it is now, stored afterwards
  if (settled.applied) idempotency.createdStored(settled.resource);
  if (outcome.kind === 'unknown') {
    deps.logger.warn({ payment_id: payment.id, attempt_id: attempt.id, reason: outcome.reason }, 'authorization outcome unknown; left for reconciliation');
  }
  return { outcome: 'created', payment: settled.resource };
}

/** The row `create_card_payment` inserts, as a read would return it (every other column has its default). */
function newCardPaymentRow(tenantId: string, key: string, v: statements.NewCardPayment['payment'], at: Date): repo.PaymentRow {
  return {
    ...v,
    tenant_id: tenantId,
    method: 'card',
    status: 'processing',
    amount_capturable: 0n,
    amount_captured: 0n,
    amount_refunded: 0n,
    amount_reversed: 0n,
    bank_account_holder: null,
    bank_routing_number: null,
    bank_account_last4: null,
    bank_account_type: null,
    bank_fingerprint: null,
    bank_account_number_enc: null,
    rail_status: null,
    rail_reference: null,
    return_code: null,
    return_reason: null,
    submitted_at: null,
    settled_at: null,
    returned_at: null,
    expected_settlement_at: null,
    rail_next_poll_at: null,
    rail_poll_backoff_step: 0,
    attention_reason: null,
    attention_since: null,
    processor_reference: null,
    failure_code: null,
    failure_message: null,
    idempotency_key: key,
    created_at: at,
    updated_at: at,
  };
}

export async function getPayment(deps: PaymentsDeps, tenantId: string, id: string, expand: boolean): Promise<PaymentResource> {
  if (!isId('payment', id)) throw notFound('payment', id);
  return withTenantTx(deps.db, tenantId, async (tx) => {
    const row = await repo.findPayment(tx, tenantId, id);
    if (!row) throw notFound('payment', id);
    if (!expand) return toPaymentResource(row);
    const [attempts, transitions] = [await repo.listAttempts(tx, tenantId, id), await repo.listTransitions(tx, tenantId, id)];
    return toPaymentResource(row, { attempts, transitions });
  });
}

export async function listPayments(deps: PaymentsDeps, tenantId: string, filter: ListPaymentsFilter) {
  const rows = await withTenantTx(deps.db, tenantId, (tx) => repo.listPayments(tx, tenantId, filter));
  return { object: 'list' as const, ...toPage(rows.map((r) => toPaymentResource(r)), filter) };
}

/** Capture (card, requires_capture): at most once, at most the authorized amount; the rest is released. */
export async function capturePayment(deps: PaymentsDeps, tenantId: string, id: string, amount: number | undefined): Promise<ChangedPayment> {
  if (!isId('payment', id)) throw notFound('payment', id);
  const { payment, authorizationReference, attempt } = await withTenantTx(deps.db, tenantId, async (tx) => {
    const payment = await repo.lockPaymentForUpdate(tx, tenantId, id);
    if (!payment) throw notFound('payment', id);
    requireOperationAllowed(payment, 'capture');
    // checked before anything is written: a capture attempt that could never be sent must not be left open
    const authorizationReference = requireProcessorReference(payment);
    const open = await repo.findOpenAttempt(tx, tenantId, id, ['capture', 'void']);
    if (open) throw new AppError('invalid_state', `A ${open.operation} of this payment is already in progress.`);
    const captureMinor = amount === undefined ? payment.amount_capturable : BigInt(amount);
    if (captureMinor > payment.amount_capturable) {
      throw new AppError('amount_too_large', `Amount to capture (${captureMinor}) exceeds the capturable amount (${payment.amount_capturable}): send at most that, or omit amount to capture it all.`, { param: 'amount' });
    }
    const attempt = await repo.insertAttempt(tx, tenantId, { payment_id: id, operation: 'capture', amount: captureMinor, reconcileAfterMs: deps.inFlightMs });
    return { payment, authorizationReference, attempt };
  });
  const started = process.hrtime.bigint();
  const outcome = await deps.processor.capture({ idempotencyKey: attempt.id, authorizationReference, amountMinor: attempt.amount });
  const latency = elapsedMs(started);
  const result = await applyCardOutcome(deps.db, outcomeContext(deps), tenantId, payment, attempt, outcome, latency);
  if (result.failure) throw new AppError('processor_declined', `The processor refused the capture: ${result.failure.message}`);
  return { outcome: outcome.kind === 'unknown' ? 'outcome_unknown' : 'completed', payment: result.resource };
}

/** Cancel: void an uncaptured card authorization, or stop a bank transfer not yet submitted to the rail. */
export async function cancelPayment(deps: PaymentsDeps, tenantId: string, id: string): Promise<ChangedPayment> {
  if (!isId('payment', id)) throw notFound('payment', id);
  const prepared = await withTenantTx(deps.db, tenantId, async (tx) => {
    const payment = await repo.lockPaymentForUpdate(tx, tenantId, id);
    if (!payment) throw notFound('payment', id);
    requireOperationAllowed(payment, 'cancel');
    if (payment.method === 'bank_transfer') {
      const submitting = await repo.findOpenAttempt(tx, tenantId, id, ['bank_debit']);
      if (payment.rail_status !== 'pending' || submitting) {
        throw new AppError('invalid_state', `This bank transfer was already submitted to the rail (rail_status ${payment.rail_status}); it can no longer be canceled.`);
      }
      const to = applyPaymentEvent('bank_transfer', payment.status, 'canceled_before_submission');
      const updated = await repo.updatePayment(tx, tenantId, id, payment.status, { status: to, rail_status: 'canceled', bank_account_number_enc: null });
      if (!updated) throw new Error(`payment ${id} changed under its row lock`);
      await repo.insertTransition(tx, tenantId, { payment_id: id, from_status: payment.status, to_status: to, rail_status: 'canceled', reason: 'canceled before submission' });
      await recordPaymentEvent(tx, tenantId, updated, 'payment.canceled');
      return { kind: 'done' as const, payment: updated };
    }
    // checked before anything is written: a void attempt that could never be sent must not be left open
    const authorizationReference = requireProcessorReference(payment);
    const open = await repo.findOpenAttempt(tx, tenantId, id, ['capture', 'void']);
    if (open) throw new AppError('invalid_state', `A ${open.operation} of this payment is already in progress.`);
    const attempt = await repo.insertAttempt(tx, tenantId, { payment_id: id, operation: 'void', amount: payment.amount_capturable, reconcileAfterMs: deps.inFlightMs });
    return { kind: 'void' as const, payment, authorizationReference, attempt };
  });
  if (prepared.kind === 'done') {
    // counted once committed
    deps.metrics.paymentsTotal.inc({ method: 'bank_transfer', status: prepared.payment.status, failure_code: '' });
    return { outcome: 'completed', payment: toPaymentResource(prepared.payment) };
  }
  const { payment, authorizationReference, attempt } = prepared;
  const started = process.hrtime.bigint();
  const outcome = await deps.processor.voidAuthorization({ idempotencyKey: attempt.id, authorizationReference });
  const latency = elapsedMs(started);
  const result = await applyCardOutcome(deps.db, outcomeContext(deps), tenantId, payment, attempt, outcome, latency);
  if (result.failure) throw new AppError('processor_declined', `The processor refused to void the authorization: ${result.failure.message}`);
  return { outcome: outcome.kind === 'unknown' ? 'outcome_unknown' : 'completed', payment: result.resource };
}
