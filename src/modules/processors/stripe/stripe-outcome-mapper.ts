import Stripe from 'stripe';
import type {
  AuthorizeDecision,
  BankCreditDecision,
  BankDebitDecision,
  BankDebitSnapshot,
  CaptureDecision,
  DeclinedOutcome,
  ErrorOutcome,
  FailedOutcome,
  NotFound,
  QueryUnavailable,
  RefundDecision,
  VoidDecision,
} from '../processor-port.js';
import { ACH_DISPUTE_RETURN, achReturnFor, cardBrandOf, declineCodeFor } from './stripe-codes.js';

/**
 * Stripe's objects and errors as port outcomes. Pure. A PaymentIntent in a state that does not answer the question
 * asked (e.g. `processing` for a card) maps to `undefined`, which callers turn into "unknown" or "not yet": never a
 * guess.
 */

export type PaymentIntent = Stripe.PaymentIntent;
export type Refund = Stripe.Refund;

function currencyOf(pi: { currency: string }): string {
  return pi.currency.toUpperCase();
}

function lastPaymentErrorDecline(pi: PaymentIntent): DeclinedOutcome {
  const err = pi.last_payment_error;
  const { code, processorCode } = declineCodeFor(err?.code, err?.decline_code);
  return { kind: 'declined', code, processorCode, message: err?.message ?? 'The card was declined.', processorReference: pi.id };
}

function paymentMethodCard(pi: PaymentIntent): { brand: string | undefined; last4: string | undefined } {
  const pm = pi.payment_method;
  if (pm && typeof pm === 'object' && pm.card) return { brand: pm.card.brand, last4: pm.card.last4 };
  return { brand: undefined, last4: undefined };
}

/** An authorization as the PaymentIntent records it (answer to create, or found again by search). */
export function authorizeDecisionOf(pi: PaymentIntent, fallbackCard: { last4: string }): AuthorizeDecision | undefined {
  const card = paymentMethodCard(pi);
  const approved = (captured: bigint): AuthorizeDecision => ({
    kind: 'approved',
    processorReference: pi.id,
    authorizedAmountMinor: BigInt(pi.amount),
    capturedAmountMinor: captured,
    currency: currencyOf(pi),
    card: { brand: cardBrandOf(card.brand), last4: card.last4 ?? fallbackCard.last4 },
  });
  switch (pi.status) {
    case 'requires_capture':
      return approved(0n);
    case 'succeeded':
      return pi.amount_received > 0 ? approved(BigInt(pi.amount_received)) : undefined;
    case 'requires_payment_method':
      return pi.last_payment_error ? lastPaymentErrorDecline(pi) : undefined;
    case 'requires_action':
      // 3-D Secure asked for: NimbusPay has no customer in the loop to authenticate, so nothing can be captured.
      return { kind: 'declined', code: 'processor_declined', processorCode: 'authentication_required', message: 'The card requires authentication.', processorReference: pi.id };
    case 'canceled':
      return { kind: 'declined', code: 'processor_declined', processorCode: `canceled:${pi.cancellation_reason ?? 'unknown'}`, message: 'The authorization was canceled at the processor.', processorReference: pi.id };
    default:
      return undefined;
  }
}

export function captureDecisionOf(pi: PaymentIntent): CaptureDecision | undefined {
  if (pi.status !== 'succeeded' || pi.amount_received <= 0) return undefined;
  return {
    kind: 'approved',
    processorReference: pi.id,
    capturedAmountMinor: BigInt(pi.amount_received),
    authorizedAmountMinor: BigInt(pi.amount),
    currency: currencyOf(pi),
  };
}

export function voidDecisionOf(pi: PaymentIntent): VoidDecision | undefined {
  return pi.status === 'canceled' ? { kind: 'approved', processorReference: pi.id } : undefined;
}

function refundDeclined(refund: Refund): DeclinedOutcome {
  return {
    kind: 'declined',
    code: 'refund_declined',
    processorCode: refund.failure_reason ?? refund.status ?? 'failed',
    message: 'The processor could not refund the payment.',
    processorReference: refund.id,
  };
}

/** `pending` is Stripe's promise to refund (ACH refunds always start there): the money is committed. */
export function refundDecisionOf(refund: Refund): RefundDecision | undefined {
  const paymentIntent = typeof refund.payment_intent === 'string' ? refund.payment_intent : refund.payment_intent?.id;
  if (!paymentIntent) return undefined;
  if (refund.status === 'succeeded' || refund.status === 'pending' || refund.status === 'requires_action') {
    return { kind: 'approved', processorReference: refund.id, authorizationReference: paymentIntent, amountMinor: BigInt(refund.amount), currency: refund.currency.toUpperCase() };
  }
  if (refund.status === 'failed' || refund.status === 'canceled') return refundDeclined(refund);
  return undefined;
}

export function bankCreditDecisionOf(refund: Refund): BankCreditDecision | undefined {
  const decision = refundDecisionOf(refund);
  if (!decision || decision.kind === 'declined') return decision;
  return { kind: 'approved', processorReference: decision.processorReference, debitReference: decision.authorizationReference, amountMinor: decision.amountMinor, currency: decision.currency };
}

function chargeOf(pi: PaymentIntent): Stripe.Charge | undefined {
  return pi.latest_charge && typeof pi.latest_charge === 'object' ? pi.latest_charge : undefined;
}

/**
 * An ACH debit as its PaymentIntent shows it now. `processing` = submitted; `succeeded` = settled (a disputed charge
 * = returned after settlement); `requires_payment_method` after a failure = returned before settlement.
 * `observedAt` stands in for the settlement and return instants, which the PaymentIntent does not carry.
 */
export function bankDebitSnapshotOf(pi: PaymentIntent, observedAt: Date, idempotencyKey: string): BankDebitSnapshot | undefined {
  // A failed payment detaches the PaymentMethod from the intent (`payment_method: null`); Stripe keeps it in
  // `last_payment_error.payment_method`, and the charge keeps the account's last4 in its payment_method_details.
  const pm = pi.payment_method ?? pi.last_payment_error?.payment_method;
  const last4 = (pm && typeof pm === 'object' ? pm.us_bank_account?.last4 : undefined) ?? chargeOf(pi)?.payment_method_details?.us_bank_account?.last4 ?? '';
  const base = {
    processorReference: pi.id,
    idempotencyKey,
    amountMinor: BigInt(pi.amount),
    currency: currencyOf(pi),
    accountLast4: last4,
    submittedAt: new Date(pi.created * 1000),
  };
  switch (pi.status) {
    case 'processing':
      return { ...base, status: 'submitted' };
    case 'succeeded': {
      if (chargeOf(pi)?.disputed) {
        return { ...base, status: 'returned', settledAt: observedAt, returnedAt: observedAt, returnCode: ACH_DISPUTE_RETURN.code, returnReason: ACH_DISPUTE_RETURN.reason };
      }
      return { ...base, status: 'settled', settledAt: observedAt };
    }
    case 'requires_payment_method': {
      if (!pi.last_payment_error) return undefined;
      const achReturn = achReturnFor(chargeOf(pi)?.failure_code ?? pi.last_payment_error.code);
      return { ...base, status: 'returned', returnedAt: observedAt, returnCode: achReturn.code, returnReason: achReturn.reason };
    }
    default:
      return undefined;
  }
}

export function bankDebitDecisionOf(pi: PaymentIntent, observedAt: Date, idempotencyKey: string): BankDebitDecision | undefined {
  const debit = bankDebitSnapshotOf(pi, observedAt, idempotencyKey);
  return debit && { kind: 'approved', processorReference: pi.id, debit };
}

// ---- errors --------------------------------------------------------------------------------------------------

const CONNECT_PHASE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** What a thrown SDK error says about the request, before any decision about retrying it. */
export type StripeFailure =
  /** The processor decided (a card error): a result, not a failure. */
  | { kind: 'declined'; outcome: DeclinedOutcome }
  /** Nothing was done and another attempt with the same key may succeed (429, lock timeout, refused connection). */
  | { kind: 'retry'; outcome: ErrorOutcome }
  /** Nothing was done and repeating cannot help (invalid request, authentication, idempotency key reuse). */
  | { kind: 'final'; outcome: ErrorOutcome }
  /** The request may have been executed. */
  | { kind: 'unknown'; outcome: FailedOutcome }
  /** The object asked about does not exist (404 resource_missing). */
  | { kind: 'missing' };

function errorOutcome(err: Stripe.errors.StripeError, retryable: boolean, sent: boolean, code: ErrorOutcome['code'] = 'processing_error'): ErrorOutcome {
  return {
    kind: 'error',
    code,
    message: err.message,
    retryable,
    sent,
    ...(err.statusCode !== undefined ? { httpStatus: err.statusCode } : {}),
    ...(err.code !== undefined ? { processorCode: err.code } : {}),
  };
}

export function classifyStripeError(err: unknown): StripeFailure {
  const E = Stripe.errors;
  if (err instanceof E.StripeCardError) {
    // `processing_error` is Stripe saying it failed to process the card, not that the issuer declined it.
    if (err.code === 'processing_error') return { kind: 'final', outcome: errorOutcome(err, true, true) };
    const { code, processorCode } = declineCodeFor(err.code, err.decline_code);
    const pi = err.payment_intent?.id;
    return { kind: 'declined', outcome: { kind: 'declined', code, processorCode, message: err.message, ...(pi ? { processorReference: pi } : {}) } };
  }
  if (err instanceof E.StripeRateLimitError) return { kind: 'retry', outcome: errorOutcome(err, true, true) };
  if (err instanceof E.StripeIdempotencyError) {
    return { kind: 'final', outcome: { ...errorOutcome(err, false, true), processorCode: 'idempotency_key_reused' } };
  }
  if (err instanceof E.StripeInvalidRequestError) {
    if (err.statusCode === 404 && err.code === 'resource_missing') return { kind: 'missing' };
    // Another request with this key is still executing at Stripe: its outcome is ours, and it is not known yet.
    if (err.code === 'idempotency_key_in_use') return { kind: 'unknown', outcome: { kind: 'unknown', reason: 'server_error', message: err.message } };
    if (err.code === 'lock_timeout' || err.code === 'rate_limit') return { kind: 'retry', outcome: errorOutcome(err, true, true) };
    return { kind: 'final', outcome: errorOutcome(err, false, true) };
  }
  if (err instanceof E.StripeAuthenticationError || err instanceof E.StripePermissionError) {
    return { kind: 'final', outcome: errorOutcome(err, false, true) };
  }
  if (err instanceof E.StripeConnectionError) {
    const code = (err.detail as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && CONNECT_PHASE_CODES.has(code)) {
      return { kind: 'retry', outcome: errorOutcome(err, true, false, 'processor_unavailable') };
    }
    const reason = code === 'ETIMEDOUT' ? 'timeout' : 'connection_error';
    return { kind: 'unknown', outcome: { kind: 'unknown', reason, message: err.message } };
  }
  if (err instanceof E.StripeAPIError || (err instanceof E.StripeError && (err.statusCode ?? 0) >= 500)) {
    // Stripe documents a 500 as indeterminate (and saves it under the idempotency key): reconcile, never retry blind.
    return { kind: 'unknown', outcome: { kind: 'unknown', reason: 'server_error', message: err.message } };
  }
  if (err instanceof E.StripeError) return { kind: 'final', outcome: errorOutcome(err, false, true) };
  return { kind: 'unknown', outcome: { kind: 'unknown', reason: 'bad_response', message: err instanceof Error ? err.message : String(err) } };
}

/** A failed query in the port's words. */
export function queryFailureOf(failure: StripeFailure): NotFound | QueryUnavailable {
  switch (failure.kind) {
    case 'missing':
      return { kind: 'not_found' };
    case 'retry':
      return { kind: 'unavailable', reason: failure.outcome.sent ? 'server_error' : 'connect_failed', message: failure.outcome.message, sent: failure.outcome.sent };
    case 'unknown':
      return { kind: 'unavailable', reason: failure.outcome.kind === 'unknown' && failure.outcome.reason === 'timeout' ? 'timeout' : 'connection_error', message: failure.outcome.message, sent: true };
    case 'declined':
    case 'final':
      return { kind: 'unavailable', reason: 'client_error', message: failure.outcome.message, sent: true };
  }
}
