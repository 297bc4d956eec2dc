import { withTenantTx, type Db, type Tx } from '../../platform/db.js';
import { newId } from '../../platform/ids.js';
import type { Metrics } from '../../platform/metrics.js';
import type {
  AuthorizeOutcome, CaptureOutcome, DeclinedOutcome, FailedOutcome, QueryUnavailable, RefundOutcome, VoidOutcome, BankCreditOutcome,
} from '../processors/index.js';
import type { Logger } from '../../platform/logger.js';
import * as repo from './payments.repository.js';
import * as statements from './card-payment-statements.repository.js';
import { applyPaymentEvent, type CardPaymentEvent } from './payment-state.js';
import type { PaymentResource } from './payments.schema.js';
import { applyRefundEvent } from './refund-state.js';
import { PAYMENT_STATUS_EVENT, recordRefundEvent, toPaymentResource } from './payment-resource.js';

// Transaction 2 of the payment path (docs/architecture.md §2.3): a normalized processor outcome applied through the state
// machine, with the transition, the event and its webhooks, in one transaction. The API path and the reconciler
// both come here, so an outcome means the same thing whoever learns it first; the attempt's guard (only an open
// attempt settles) makes sure only one of them applies it.

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

export interface Failure {
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

/** How a card operation's outcome changes the payment, decided by the state machine from the payment held. */
interface CardDecision {
  attempt: statements.CardAttemptSettlement['attempt'];
  transition?: {
    event: CardPaymentEvent;
    patch: Partial<Pick<repo.PaymentRow, 'processor_reference' | 'amount_capturable' | 'amount_captured' | 'failure_code' | 'failure_message'>>;
    reason: string;
  };
  /** A capture or void the processor refused: the authorization is still held and the caller reports this. */
  failure?: Failure;
}

export type CardOutcome = AuthorizeOutcome | CaptureOutcome | VoidOutcome | NotRecorded;
export type CardAttempt = Pick<repo.AttemptRow, 'id' | 'operation' | 'amount'>;

function decideCardOutcome(ctx: OutcomeContext, attempt: CardAttempt, outcome: CardOutcome, latencyMs: number | null): CardDecision {
  if (outcome.kind === 'unknown') {
    return { attempt: { status: 'unknown', failureMessage: outcome.message, latencyMs, reconcileAfterMs: ctx.firstReconcileDelayMs } };
  }
  if (outcome.kind === 'approved') {
    const attemptDone = { status: 'succeeded' as const, processorReference: outcome.processorReference, failureCode: null, failureMessage: null, latencyMs };
    switch (attempt.operation) {
      case 'authorize': {
        // only an authorization's approval carries the card; anything else is another operation's answer
        if (!('card' in outcome)) throw new Error(`attempt ${attempt.id} (authorize) got an approval of another operation`);
        const approved = outcome;
        const captured = approved.capturedAmountMinor > 0n;
        return {
          attempt: attemptDone,
          transition: {
            event: captured ? 'authorized_and_captured' : 'authorized',
            patch: { processor_reference: approved.processorReference, amount_capturable: captured ? 0n : approved.authorizedAmountMinor, amount_captured: approved.capturedAmountMinor },
            reason: captured ? 'authorized and captured' : 'authorized',
          },
        };
      }
      case 'capture': {
        // the processor's figure is authoritative for what moved
        const captured = 'capturedAmountMinor' in outcome ? outcome.capturedAmountMinor : attempt.amount;
        return { attempt: attemptDone, transition: { event: 'captured', patch: { amount_captured: captured, amount_capturable: 0n }, reason: `captured ${captured}` } };
      }
      case 'void':
        return { attempt: attemptDone, transition: { event: 'voided', patch: { amount_capturable: 0n }, reason: 'authorization voided' } };
      default:
        throw new Error(`attempt ${attempt.id} is not a card operation (${attempt.operation})`);
    }
  }
  const failure = failureOf(outcome);
  const attemptFailed = {
    status: 'failed' as const, failureCode: failure.code, failureMessage: failure.message, latencyMs,
    processorReference: outcome.kind === 'declined' ? (outcome.processorReference ?? null) : null,
  };
  if (attempt.operation === 'authorize') {
    return {
      attempt: attemptFailed,
      transition: { event: 'authorization_failed', patch: { failure_code: failure.code, failure_message: failure.message }, reason: `authorization failed: ${failure.code}` },
    };
  }
  return { attempt: { ...attemptFailed, processorReference: null }, failure };
}

export interface AppliedCardOutcome {
  /** false: the attempt's outcome had already been applied by someone else; `payment` is the payment as it is now. */
  applied: boolean;
  payment: repo.PaymentRow;
  resource: PaymentResource;
  failure?: Failure;
}

/**
 * Transaction 2 of every card operation (authorize, capture, void), for the request and the reconciler alike: the
 * outcome is decided here with the state machine from `payment` (as the caller holds it) and applied by ONE
 * statement (`settle_card_attempt`), which settles the attempt only if it is still open, moves the payment only if
 * it is still in the status decided from, and records the transition, the event and, with `answer`, the
 * idempotent answer — all or nothing. The resource is built once and serialised once for the event and the answer.
 */
export async function applyCardOutcome(
  db: Db, ctx: OutcomeContext, tenantId: string, payment: repo.PaymentRow, attempt: CardAttempt, outcome: CardOutcome, latencyMs: number | null,
  answer?: { key: string; status: number },
): Promise<AppliedCardOutcome> {
  const decision = decideCardOutcome(ctx, attempt, outcome, latencyMs);
  const move = decision.transition;
  const to = move ? applyPaymentEvent('card', payment.status, move.event) : payment.status;
  const next: repo.PaymentRow = move ? { ...payment, ...move.patch, status: to } : payment;
  const resource = move || answer ? toPaymentResource(next) : undefined;
  const settled = await statements.settleCardAttempt(db, tenantId, {
    paymentId: payment.id,
    attemptId: attempt.id,
    attempt: decision.attempt,
    ...(move ? {
      transition: {
        from: payment.status, to,
        processorReference: move.patch.processor_reference ?? null,
        amountCapturable: move.patch.amount_capturable ?? null,
        amountCaptured: move.patch.amount_captured ?? null,
        reason: move.reason,
        transitionId: newId('transition'),
        eventId: newId('event'),
        eventType: PAYMENT_STATUS_EVENT[to],
      },
    } : {}),
    ...(resource ? { resourceJson: JSON.stringify(resource) } : {}),
    ...(answer ? { answer } : {}),
  });
  if (settled.outcome === 'superseded') {
    const current = await withTenantTx(db, tenantId, (tx) => repo.findPayment(tx, tenantId, payment.id));
    if (!current) throw new Error(`attempt ${attempt.id} has no payment`);
    return { applied: false, payment: current, resource: toPaymentResource(current), ...(decision.failure ? { failure: decision.failure } : {}) };
  }
  // counted once committed: a statement that rolled back changed nothing
  if (move) ctx.metrics.paymentsTotal.inc({ method: 'card', status: to, failure_code: next.failure_code ?? '' });
  const applied = { ...next, created_at: settled.created_at, updated_at: settled.updated_at };
  let shown: PaymentResource;
  if (resource) {
    // the timestamps the statement stamped into the stored JSON, as a read would print them
    resource.created_at = applied.created_at.toISOString();
    resource.updated_at = applied.updated_at.toISOString();
    shown = resource;
  } else {
    shown = toPaymentResource(applied);
  }
  return { applied: true, payment: applied, resource: shown, ...(decision.failure ? { failure: decision.failure } : {}) };
}

/**
 * Refund outcome (card refund or bank credit). The refunded amount was reserved on the payment when the refund was
 * created; a failed refund gives the reservation back in the same transaction.
 */
export async function applyRefundOutcome(
  tx: Tx, ctx: OutcomeContext, tenantId: string, attempt: repo.AttemptRow, outcome: RefundOutcome | BankCreditOutcome | NotRecorded, latencyMs: number | null,
): Promise<repo.RefundRow> {
  if (attempt.refund_id === null) throw new Error(`${attempt.operation} attempt ${attempt.id} has no refund_id (refund attempts are created with their refund)`);
  const refund = await repo.findRefund(tx, tenantId, attempt.refund_id);
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
