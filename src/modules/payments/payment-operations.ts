import type { Db, Tx } from '../../platform/db.js';
import { AppError } from '../../platform/errors.js';
import type { KeyRing } from '../../platform/crypto.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { NonEmptyList } from '../../platform/config-parsers.js';
import type { ClaimRequest, ClaimRow } from '../../platform/idempotency.repository.js';
import type { PaymentProcessor } from '../processors/index.js';
import type { PaymentRow } from './payments.repository.js';
import { InvalidStateError, assertOperationAllowed, type PaymentOperation } from './payment-state.js';
import type { OutcomeContext } from './payment-outcomes.js';
import type { PaymentResource } from './payments.schema.js';

// What the payment services (card payments, bank transfers, refunds) and the reconciler share: their
// dependencies, the outcomes they report, and the state machine's guard.

export interface PaymentsDeps {
  db: Db;
  processor: PaymentProcessor;
  metrics: Metrics;
  logger: Logger;
  keyRing: KeyRing;
  /** Longest a processor call can still be in flight (timeouts × tries + backoff): the reconciler waits this long. */
  inFlightMs: number;
  /** When to look again at an unknown outcome; the first entry is the first look. */
  reconcileIntervalsMs: NonEmptyList<number>;
  /** Delay between creating a bank transfer and submitting it to the rail (the window in which it can be canceled). */
  bankSubmitDelayMs: number;
  now?: () => Date;
}

export function outcomeContext(deps: PaymentsDeps): OutcomeContext {
  return { metrics: deps.metrics, firstReconcileDelayMs: deps.reconcileIntervalsMs[0] };
}

/** The state machine's answer to "may this payment be captured / canceled / refunded now?", as the documented 409. */
export function requireOperationAllowed(payment: Pick<PaymentRow, 'method' | 'status'>, operation: PaymentOperation): void {
  try {
    assertOperationAllowed(payment.method, payment.status, operation);
  } catch (err) {
    if (err instanceof InvalidStateError) throw new AppError('invalid_state', err.message);
    throw err;
  }
}

export function elapsedMs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1_000_000n);
}

/**
 * What a create-payment request did: `created` the payment, or `resumed` the one an earlier run of the same request
 * (same Idempotency-Key, taken over after a crash) created, returned as it is now.
 */
export interface CreatedPayment {
  outcome: 'created' | 'resumed';
  payment: PaymentResource;
}

/**
 * What a capture or cancel did: `completed` (the processor answered and the answer is applied), or
 * `outcome_unknown` (the processor's answer was lost; the reconciler finishes the operation).
 */
export interface ChangedPayment {
  outcome: 'completed' | 'outcome_unknown';
  payment: PaymentResource;
}

/**
 * The Idempotency-Key as a payment creation uses it; the route builds it from runIdempotent's context (claimed in
 * the handler: `claimInHandler`). The answer stored under the key is the one the route sends for a created payment.
 */
export interface CreationKey {
  key: string;
  /** Claims the key as the first statement of `tx` (see IdempotencyContext.claim). */
  claim(tx: Tx): Promise<{ takeover: boolean }>;
  /** For a first statement that is a SQL function claiming the key itself; its claim columns go to `acceptClaim`. */
  claimRequest: ClaimRequest;
  acceptClaim(row: ClaimRow): { takeover: boolean };
  /** The stored answer's status, for a SQL statement that stores the created payment as the key's answer itself. */
  createdAnswerStatus: number;
  /** Stores `payment` as the key's answer inside `tx`, so the payment and its answer commit together. */
  storeCreated(tx: Tx, payment: PaymentResource): Promise<void>;
  /** The last statement stored `payment` as the key's answer itself (with `createdAnswerStatus`). */
  createdStored(payment: PaymentResource): void;
}

/**
 * The processor's reference for what a payment past `processing` rests on: the card authorization (set by the
 * approval that moved it to requires_capture or succeeded) or the bank debit (set when the rail accepted it). Every
 * capture, void and refund sends it to the processor; a payment in such a status without one is a broken invariant,
 * an internal error here rather than a null sent to the processor.
 */
export function requireProcessorReference(payment: Pick<PaymentRow, 'id' | 'method' | 'status' | 'processor_reference'>): string {
  if (payment.processor_reference === null) {
    throw new Error(`${payment.method} payment ${payment.id} in status ${payment.status} has no processor reference (set when the processor approved it)`);
  }
  return payment.processor_reference;
}
