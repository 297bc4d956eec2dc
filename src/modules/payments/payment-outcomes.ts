import type { Tx } from '../../platform/db.js';
import type { Metrics } from '../../platform/metrics.js';
import type {
  AuthorizeOutcome, CaptureOutcome, DeclinedOutcome, FailedOutcome, QueryUnavailable, RefundOutcome, VoidOutcome, BankCreditOutcome,
} from '../processors/index.js';
import type { Logger } from '../../platform/logger.js';
import * as repo from './payments.repository.js';
import { applyPaymentEvent, type CardPaymentEvent } from './payment-state.js';
import { applyRefundEvent } from './refund-state.js';
import { PAYMENT_STATUS_EVENT, recordPaymentEvent, recordRefundEvent } from './payment-resource.js';

// Transaction 2 of the payment path (docs/architecture.md §2.3): a normalized processor outcome applied through the state
// machine, with the transition, the event and its webhooks, in one transaction. The API path and the reconciler
// both come here, so an outcome means the same thing whoever learns it first; `completeAttempt` makes sure only
// one of them applies it.

export interface OutcomeContext {
  metrics: Metrics;
  /** Delay before the reconciler first asks about an unknown outcome. */
  firstReconcileDelayMs: number;
}

/** The reconciler could not learn anything this time; it asks again on its schedule. */
export function warnLookupUnavailable(log: Logger, status: QueryUnavailable): void {
  log.warn({ reason: status.reason }, status.reason === 'not_yet_consistent'
    ? 'processor lookup not yet conclusive for so recent an operation; will ask again'
    : 'processor unavailable for reconciliation; will ask again');
}

/** The reconciler learnt the processor recorded nothing under the attempt's key: the operation never happened. */
export interface NotRecorded {
  kind: 'not_recorded';
}

interface Failure {
  code: string;
  message: string;
}

function failureOf(outcome: DeclinedOutcome | FailedOutcome | NotRecorded): Failure {
  switch (outcome.kind) {
    case 'declined':
      return { code: outcome.code, message: outcome.message };
    case 'error':
      return outcome.sent
        ? { code: 'processing_error', message: 'The processor could not process the payment.' }
        : { code: 'processor_unavailable', message: 'The processor was unavailable; the request was not sent.' };
    case 'not_recorded':
      return { code: 'processor_timeout', message: 'The processor did not answer in time and recorded no such operation.' };
    case 'unknown':
      throw new Error('an unknown outcome is not a failure');
  }
}

/** Moves a card payment by `event` (guarded on its current status), with history, event and metric. */
async function transitionCardPayment(
  tx: Tx,
  ctx: OutcomeContext,
  tenantId: string,
  payment: repo.PaymentRow,
  event: CardPaymentEvent,
  patch: Parameters<typeof repo.updatePayment>[4],
  reason: string,
): Promise<repo.PaymentRow> {
  const to = applyPaymentEvent('card', payment.status, event);
  const updated = await repo.updatePayment(tx, tenantId, payment.id, payment.status, { ...patch, status: to });
  if (!updated) throw new Error(`payment ${payment.id} changed under a held attempt`);
  await repo.insertTransition(tx, tenantId, { payment_id: payment.id, from_status: payment.status, to_status: to, reason });
  await recordPaymentEvent(tx, tenantId, updated, PAYMENT_STATUS_EVENT[to]);
  ctx.metrics.paymentsTotal.inc({ method: 'card', status: to, failure_code: updated.failure_code ?? '' });
  return updated;
}

async function loadPayment(tx: Tx, tenantId: string, attempt: repo.AttemptRow): Promise<repo.PaymentRow> {
  const payment = await repo.lockPaymentForUpdate(tx, tenantId, attempt.payment_id);
  if (!payment) throw new Error(`attempt ${attempt.id} has no payment`);
  return payment;
}

export async function applyAuthorizeOutcome(
  tx: Tx, ctx: OutcomeContext, tenantId: string, attempt: repo.AttemptRow, outcome: AuthorizeOutcome | NotRecorded, latencyMs: number | null,
): Promise<repo.PaymentRow> {
  const payment = await loadPayment(tx, tenantId, attempt);
  if (outcome.kind === 'unknown') {
    await repo.markAttemptUnknown(tx, tenantId, attempt.id, ctx.firstReconcileDelayMs, { failure_message: outcome.message, latency_ms: latencyMs });
    return payment;
  }
  if (outcome.kind === 'approved') {
    const done = await repo.completeAttempt(tx, tenantId, attempt.id, { status: 'succeeded', processor_reference: outcome.processorReference, latency_ms: latencyMs });
    if (!done) return payment;
    const captured = outcome.capturedAmountMinor > 0n;
    return transitionCardPayment(tx, ctx, tenantId, payment, captured ? 'authorized_and_captured' : 'authorized', {
      processor_reference: outcome.processorReference,
      amount_capturable: captured ? 0n : outcome.authorizedAmountMinor,
      amount_captured: outcome.capturedAmountMinor,
    }, captured ? 'authorized and captured' : 'authorized');
  }
  const failure = failureOf(outcome);
  const done = await repo.completeAttempt(tx, tenantId, attempt.id, {
    status: 'failed', failure_code: failure.code, failure_message: failure.message, latency_ms: latencyMs,
    processor_reference: outcome.kind === 'declined' ? (outcome.processorReference ?? null) : null,
  });
  if (!done) return payment;
  return transitionCardPayment(tx, ctx, tenantId, payment, 'authorization_failed', { failure_code: failure.code, failure_message: failure.message }, `authorization failed: ${failure.code}`);
}

/**
 * Capture and void of a held authorization: approved moves the payment (captured / voided); a refusal leaves the
 * authorization held, so the payment stays `requires_capture` and the caller reports the failure.
 */
async function applyAuthorizationOperationOutcome(
  tx: Tx, ctx: OutcomeContext, tenantId: string, attempt: repo.AttemptRow, outcome: CaptureOutcome | VoidOutcome | NotRecorded, latencyMs: number | null,
  onApproved: (payment: repo.PaymentRow, approved: Extract<CaptureOutcome | VoidOutcome, { kind: 'approved' }>) => Promise<repo.PaymentRow>,
): Promise<{ payment: repo.PaymentRow; failure?: Failure }> {
  const payment = await loadPayment(tx, tenantId, attempt);
  if (outcome.kind === 'unknown') {
    await repo.markAttemptUnknown(tx, tenantId, attempt.id, ctx.firstReconcileDelayMs, { failure_message: outcome.message, latency_ms: latencyMs });
    return { payment };
  }
  if (outcome.kind === 'approved') {
    const done = await repo.completeAttempt(tx, tenantId, attempt.id, { status: 'succeeded', processor_reference: outcome.processorReference, latency_ms: latencyMs });
    return { payment: done ? await onApproved(payment, outcome) : payment };
  }
  const failure = failureOf(outcome);
  await repo.completeAttempt(tx, tenantId, attempt.id, { status: 'failed', failure_code: failure.code, failure_message: failure.message, latency_ms: latencyMs });
  return { payment, failure };
}

export function applyCaptureOutcome(
  tx: Tx, ctx: OutcomeContext, tenantId: string, attempt: repo.AttemptRow, outcome: CaptureOutcome | NotRecorded, latencyMs: number | null,
): Promise<{ payment: repo.PaymentRow; failure?: Failure }> {
  return applyAuthorizationOperationOutcome(tx, ctx, tenantId, attempt, outcome, latencyMs, (payment, approved) => {
    // the processor's figure is authoritative for what moved
    const captured = 'capturedAmountMinor' in approved ? approved.capturedAmountMinor : attempt.amount;
    return transitionCardPayment(tx, ctx, tenantId, payment, 'captured', { amount_captured: captured, amount_capturable: 0n }, `captured ${captured}`);
  });
}

export function applyVoidOutcome(
  tx: Tx, ctx: OutcomeContext, tenantId: string, attempt: repo.AttemptRow, outcome: VoidOutcome | NotRecorded, latencyMs: number | null,
): Promise<{ payment: repo.PaymentRow; failure?: Failure }> {
  return applyAuthorizationOperationOutcome(tx, ctx, tenantId, attempt, outcome, latencyMs, (payment) =>
    transitionCardPayment(tx, ctx, tenantId, payment, 'voided', { amount_capturable: 0n }, 'authorization voided'),
  );
}

/**
 * Refund outcome (card refund or bank credit). The refunded amount was reserved on the payment when the refund was
 * created; a failed refund gives the reservation back in the same transaction.
 */
export async function applyRefundOutcome(
  tx: Tx, ctx: OutcomeContext, tenantId: string, attempt: repo.AttemptRow, outcome: RefundOutcome | BankCreditOutcome | NotRecorded, latencyMs: number | null,
): Promise<repo.RefundRow> {
  const refund = await repo.findRefund(tx, tenantId, attempt.refund_id!);
  if (!refund) throw new Error(`attempt ${attempt.id} has no refund`);
  if (outcome.kind === 'unknown') {
    await repo.markAttemptUnknown(tx, tenantId, attempt.id, ctx.firstReconcileDelayMs, { failure_message: outcome.message, latency_ms: latencyMs });
    return refund;
  }
  if (outcome.kind === 'approved') {
    const done = await repo.completeAttempt(tx, tenantId, attempt.id, { status: 'succeeded', processor_reference: outcome.processorReference, latency_ms: latencyMs });
    if (!done) return refund;
    applyRefundEvent(refund.status, 'refund_succeeded');
    const updated = await repo.completeRefund(tx, tenantId, refund.id, { status: 'succeeded', processor_reference: outcome.processorReference });
    if (!updated) throw new Error(`refund ${refund.id} changed under a held attempt`);
    await recordRefundEvent(tx, tenantId, updated, 'refund.succeeded');
    return updated;
  }
  const failure = failureOf(outcome);
  const done = await repo.completeAttempt(tx, tenantId, attempt.id, { status: 'failed', failure_code: failure.code, failure_message: failure.message, latency_ms: latencyMs });
  if (!done) return refund;
  applyRefundEvent(refund.status, 'refund_failed');
  await repo.lockPaymentForUpdate(tx, tenantId, refund.payment_id);
  const updated = await repo.completeRefund(tx, tenantId, refund.id, { status: 'failed', failure_code: failure.code, failure_message: failure.message });
  if (!updated) throw new Error(`refund ${refund.id} changed under a held attempt`);
  await repo.adjustAmountRefunded(tx, tenantId, refund.payment_id, -refund.amount);
  await recordRefundEvent(tx, tenantId, updated, 'refund.failed');
  return updated;
}
