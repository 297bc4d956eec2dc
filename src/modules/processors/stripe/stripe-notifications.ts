import Stripe from 'stripe';
import type { BankDebitSnapshot } from '../processor-port.js';
import { ACH_DISPUTE_RETURN, ATTEMPT_METADATA_KEY } from './stripe-codes.js';
import { bankDebitSnapshotOf } from './stripe-outcome-mapper.js';

/**
 * Stripe's webhook events, verified with the SDK and read as news about NimbusPay's objects. Only ACH debits move
 * on webhooks: card outcomes are known from the synchronous answer or from the reconciler, so card events are
 * recorded but not applied.
 */

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';
/** Stripe's own default tolerance for the signed timestamp. */
export const STRIPE_SIGNATURE_TOLERANCE_SEC = 300;

export type StripeVerification = { ok: true; event: Stripe.Event } | { ok: false; reason: string };

/**
 * Verifies `Stripe-Signature` over the exact bytes received, against each configured secret in turn (several
 * during a rotation: Stripe signs with every active secret of the endpoint, one `v1` each).
 */
export function verifyStripeNotification(input: {
  rawBody: string;
  header: string | undefined;
  secrets: readonly string[];
  /** Clock of the check; the SDK's `receivedAt` is in milliseconds. */
  nowMs: number;
  toleranceSec?: number;
}): StripeVerification {
  if (!input.header) return { ok: false, reason: 'missing header' };
  let reason = 'no secret configured';
  for (const secret of input.secrets) {
    try {
      const event = Stripe.webhooks.constructEvent(input.rawBody, input.header, secret, input.toleranceSec ?? STRIPE_SIGNATURE_TOLERANCE_SEC, undefined, input.nowMs);
      return { ok: true, event };
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
  }
  return { ok: false, reason };
}

/** What an event tells NimbusPay. */
export type StripeNews =
  | { kind: 'bank_debit'; attemptId: string | undefined; debit: BankDebitSnapshot }
  /** A dispute: for a bank transfer it is a late return, for a card payment it is not handled here. */
  | { kind: 'dispute'; paymentIntentId: string; returnedAt: Date; returnCode: string; returnReason: string }
  | { kind: 'ignored'; why: string };

const PAYMENT_INTENT_EVENTS: ReadonlySet<string> = new Set([
  'payment_intent.processing',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
]);

function isBankDebit(pi: Stripe.PaymentIntent): boolean {
  return pi.payment_method_types.includes('us_bank_account') || (pi.allowed_payment_method_types ?? []).includes('us_bank_account');
}

export function newsOfStripeEvent(event: Stripe.Event): StripeNews {
  const at = new Date(event.created * 1000);
  if (PAYMENT_INTENT_EVENTS.has(event.type)) {
    const pi = event.data.object as Stripe.PaymentIntent;
    if (!isBankDebit(pi)) return { kind: 'ignored', why: 'card PaymentIntents are resolved by the request path and the reconciler' };
    const attemptId = pi.metadata?.[ATTEMPT_METADATA_KEY];
    const debit = bankDebitSnapshotOf(pi, at, attemptId ?? '');
    if (!debit) return { kind: 'ignored', why: `PaymentIntent status ${pi.status} says nothing about the debit` };
    return { kind: 'bank_debit', attemptId, debit };
  }
  if (event.type === 'charge.dispute.created') {
    const dispute = event.data.object as Stripe.Dispute;
    const pi = typeof dispute.payment_intent === 'string' ? dispute.payment_intent : dispute.payment_intent?.id;
    if (!pi) return { kind: 'ignored', why: 'dispute without a PaymentIntent' };
    return { kind: 'dispute', paymentIntentId: pi, returnedAt: at, returnCode: ACH_DISPUTE_RETURN.code, returnReason: ACH_DISPUTE_RETURN.reason };
  }
  return { kind: 'ignored', why: `event type ${event.type} is not acted on` };
}
