// The payment state machine as data (the statuses and edges the README's "Payment statuses" lists). The service never writes a status it did not get
// from this table, and every stored transition names the event that caused it, so the history table reads
// as a story and an unknown event or illegal edge is impossible to persist by accident.

import {
  PAYMENT_METHODS, PAYMENT_STATUSES, type BankRailStatus, type PaymentMethod, type PaymentStatus,
} from '../../platform/db-schema.js';

// The status lists are the database's (their CHECK constraints); this module adds the edges between them.
export { PAYMENT_METHODS, PAYMENT_STATUSES, type BankRailStatus, type PaymentMethod, type PaymentStatus };

interface PaymentEdge {
  readonly from: PaymentStatus;
  readonly to: PaymentStatus;
}

/**
 * Every legal status change, per method, keyed by the event that causes it.
 *
 * Deliberately absent:
 * - card `processing → canceled`: while a card payment is processing, a processor call is in flight or its
 *   outcome is unknown; canceling locally could leave an authorization or a charge at the processor that
 *   we no longer track. The payment must first reach `requires_capture` (then void) or a final status.
 * - a failed capture: the authorization is still held, so the payment stays `requires_capture`.
 * - card `succeeded → reversed`: card money comes back through refunds and disputes, which are their own
 *   objects; `reversed` is the ACH late return only.
 * - refunds change no payment status: the refunded amount is tracked beside the status.
 */
const PAYMENT_TRANSITIONS = {
  card: {
    /** Authorized with capture_method manual: funds held, awaiting capture or void. */
    authorized: { from: 'processing', to: 'requires_capture' },
    /** Authorized and captured in one processor call (capture_method automatic). */
    authorized_and_captured: { from: 'processing', to: 'succeeded' },
    /** Declined, processor error with a definitive answer, or reconciliation found no such attempt. */
    authorization_failed: { from: 'processing', to: 'failed' },
    captured: { from: 'requires_capture', to: 'succeeded' },
    voided: { from: 'requires_capture', to: 'canceled' },
    /** The processor released an uncaptured authorization (typically after 7 days). */
    authorization_expired: { from: 'requires_capture', to: 'canceled' },
  },
  bank_transfer: {
    settled: { from: 'processing', to: 'succeeded' },
    returned_before_settlement: { from: 'processing', to: 'failed' },
    /** Only possible while the rail status is still `pending`; see BANK_RAIL_TRANSITIONS. */
    canceled_before_submission: { from: 'processing', to: 'canceled' },
    /** ACH allows returns for days after settlement (R01 insufficient funds, R10 unauthorized, ...). */
    returned_after_settlement: { from: 'succeeded', to: 'reversed' },
  },
} as const satisfies Record<PaymentMethod, Record<string, PaymentEdge>>;

export type CardPaymentEvent = keyof (typeof PAYMENT_TRANSITIONS)['card'];
export type BankTransferPaymentEvent = keyof (typeof PAYMENT_TRANSITIONS)['bank_transfer'];
export type PaymentEventFor<M extends PaymentMethod> = keyof (typeof PAYMENT_TRANSITIONS)[M];
type PaymentEvent = CardPaymentEvent | BankTransferPaymentEvent;

function edgesOf(method: PaymentMethod): readonly PaymentEdge[] {
  return Object.values(PAYMENT_TRANSITIONS[method]) as PaymentEdge[];
}

export type StateMachineName = 'payment' | 'refund' | 'bank_rail';

/** Base of every state-machine refusal; the HTTP layer maps it to 409 `invalid_state`. */
export class InvalidStateError extends Error {
  readonly code = 'invalid_state' as const;
}

export class InvalidStateTransitionError extends InvalidStateError {
  override readonly name = 'InvalidStateTransitionError';

  constructor(
    readonly machine: StateMachineName,
    readonly from: string,
    readonly to: string,
    /** The event that was applied, when the caller applied one. */
    readonly event?: string,
  ) {
    super(
      event === undefined
        ? `The ${machine.replace('_', ' ')} cannot move from ${from} to ${to}.`
        : `The ${machine.replace('_', ' ')} cannot apply ${event} while ${from}${to === from ? '' : ` (to ${to})`}.`,
    );
  }
}

function canTransition(method: PaymentMethod, from: PaymentStatus, to: PaymentStatus): boolean {
  return edgesOf(method).some((edge) => edge.from === from && edge.to === to);
}

export function assertTransition(method: PaymentMethod, from: PaymentStatus, to: PaymentStatus): void {
  if (!canTransition(method, from, to)) {
    throw new InvalidStateTransitionError('payment', from, to);
  }
}

/**
 * The status `event` leads to from `from`, or InvalidStateTransitionError when the event does not apply
 * there (e.g. `captured` on a `processing` payment). Prefer this over assertTransition: it also checks that
 * the event is the right cause for the edge.
 */
export function applyPaymentEvent<M extends PaymentMethod>(
  method: M,
  from: PaymentStatus,
  event: PaymentEventFor<M>,
): PaymentStatus {
  const table: Readonly<Record<PropertyKey, PaymentEdge>> = PAYMENT_TRANSITIONS[method];
  // hasOwn first: an event smuggled in from outside ("toString") must not find Object.prototype members.
  const edge = Object.hasOwn(table, event) ? table[event] : undefined;
  if (edge === undefined) {
    throw new InvalidStateTransitionError('payment', from, from, String(event));
  }
  if (edge.from !== from) {
    throw new InvalidStateTransitionError('payment', from, edge.to, String(event));
  }
  return edge.to;
}

export type PaymentOperation = 'capture' | 'cancel' | 'refund';

interface OperationRule {
  readonly from: PaymentStatus;
  /** The payment event the operation causes on success; null when the payment status does not change. */
  readonly event: PaymentEvent | null;
  /** Extra precondition the service checks on the bank rail (this module stays free of I/O). */
  readonly railStatus?: 'pending';
}

/**
 * Which client operations a payment accepts in which status. `refund` is allowed from `succeeded` only;
 * whether any amount is left to refund is the refunds service's check.
 */
const PAYMENT_OPERATION_RULES = {
  card: {
    capture: { from: 'requires_capture', event: 'captured' },
    cancel: { from: 'requires_capture', event: 'voided' },
    refund: { from: 'succeeded', event: null },
  },
  bank_transfer: {
    cancel: { from: 'processing', event: 'canceled_before_submission', railStatus: 'pending' },
    refund: { from: 'succeeded', event: null },
  },
} as const satisfies Record<PaymentMethod, Partial<Record<PaymentOperation, OperationRule>>>;

function operationRule(method: PaymentMethod, operation: PaymentOperation): OperationRule | undefined {
  const rules: Partial<Record<PaymentOperation, OperationRule>> = PAYMENT_OPERATION_RULES[method];
  return rules[operation];
}

function canPerformOperation(
  method: PaymentMethod,
  status: PaymentStatus,
  operation: PaymentOperation,
): boolean {
  return operationRule(method, operation)?.from === status;
}

class OperationNotAllowedError extends InvalidStateError {
  override readonly name = 'OperationNotAllowedError';

  constructor(
    readonly method: PaymentMethod,
    readonly status: PaymentStatus,
    readonly operation: PaymentOperation,
  ) {
    const rule = operationRule(method, operation);
    super(
      rule === undefined
        ? `A ${method.replace('_', ' ')} payment cannot be ${pastTense(operation)}.`
        : `This payment's status is ${status}, but must be ${rule.from} to ${operation}.`,
    );
  }
}

function pastTense(operation: PaymentOperation): string {
  return operation === 'cancel' ? 'canceled' : `${operation}d`;
}

export function assertOperationAllowed(
  method: PaymentMethod,
  status: PaymentStatus,
  operation: PaymentOperation,
): void {
  if (!canPerformOperation(method, status, operation)) {
    throw new OperationNotAllowedError(method, status, operation);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Bank rail: the transfer's life on the ACH rail, tracked beside the payment status. A rail transition may
// cause a payment event; the two are written in the same transaction.

/** Each rail event is named after the rail status it announces. */
export type BankRailEvent = 'submitted' | 'settled' | 'returned' | 'canceled';

interface BankRailEdge {
  readonly event: BankRailEvent;
  readonly from: BankRailStatus;
  readonly to: BankRailStatus;
  readonly paymentEvent: BankTransferPaymentEvent | null;
}

const BANK_RAIL_TRANSITIONS = Object.freeze([
  // Submission changes nothing for the client: the payment stays processing until settlement.
  { event: 'submitted', from: 'pending', to: 'submitted', paymentEvent: null },
  { event: 'settled', from: 'submitted', to: 'settled', paymentEvent: 'settled' },
  { event: 'returned', from: 'submitted', to: 'returned', paymentEvent: 'returned_before_settlement' },
  { event: 'returned', from: 'settled', to: 'returned', paymentEvent: 'returned_after_settlement' },
  { event: 'canceled', from: 'pending', to: 'canceled', paymentEvent: 'canceled_before_submission' },
] as const satisfies readonly BankRailEdge[]);

/**
 * Notices that arrive out of order and must change nothing. A returned transfer never settles, so a
 * settlement notice after a return (early or late) is stale; likewise a submission notice once the
 * transfer has moved on. Anything not listed here and not a transition or a duplicate is invalid.
 */
const BANK_RAIL_IGNORED = Object.freeze([
  { event: 'settled', from: 'returned', reason: 'a returned transfer never settles' },
  { event: 'submitted', from: 'settled', reason: 'stale submission notice after settlement' },
  { event: 'submitted', from: 'returned', reason: 'stale submission notice after return' },
] as const satisfies readonly { event: BankRailEvent; from: BankRailStatus; reason: string }[]);

type BankRailOutcome =
  | {
      outcome: 'transition';
      from: BankRailStatus;
      to: BankRailStatus;
      /** Apply with applyPaymentEvent('bank_transfer', …) in the same transaction; null: payment unchanged. */
      paymentEvent: BankTransferPaymentEvent | null;
    }
  /** The rail repeated itself (webhook redelivery, janitor poll): acknowledge and do nothing. */
  | { outcome: 'duplicate' }
  | { outcome: 'ignored'; reason: string }
  /**
   * Impossible order (e.g. `settled` on a `pending` or `canceled` transfer, `canceled` after submission).
   * For a client cancel this is a 409; for a rail notice it is an inconsistency to alert on, not to apply.
   */
  | { outcome: 'invalid' };

export function applyBankRailEvent(status: BankRailStatus, event: BankRailEvent): BankRailOutcome {
  const edge = BANK_RAIL_TRANSITIONS.find((candidate) => candidate.from === status && candidate.event === event);
  if (edge !== undefined) {
    return { outcome: 'transition', from: edge.from, to: edge.to, paymentEvent: edge.paymentEvent };
  }
  if (status === event) return { outcome: 'duplicate' };
  const ignored = BANK_RAIL_IGNORED.find((candidate) => candidate.from === status && candidate.event === event);
  if (ignored !== undefined) return { outcome: 'ignored', reason: ignored.reason };
  return { outcome: 'invalid' };
}
