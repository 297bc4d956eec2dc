/**
 * The payment processor port: what the payments, refunds and reconciliation modules may ask of an acquirer /
 * bank rail, and the normalized answers they get back. Adapters (sandbox today, real acquirers later) translate
 * their wire format into these types; nothing outside an adapter ever sees a processor's raw response.
 *
 * Reading an outcome — the four kinds are deliberately distinct because they lead to different money states:
 * - `approved`  the processor did it. Persist `processorReference`.
 * - `declined`  the processor decided not to (issuer/bank decision). A result, not an exception: the payment or
 *               refund is stored as failed with `code`.
 * - `error`     we KNOW nothing was done (request rejected as invalid, refused after bounded 5xx retries, or never
 *               sent because the circuit is open). Safe to fail the attempt, or to retry when `retryable`.
 * - `unknown`   the processor MAY have acted (timeout, connection lost after sending, unreadable answer). The caller
 *               must keep the payment pending and reconcile with `getOperationStatus(lookup)`; retrying the
 *               same operation is only safe with the SAME idempotency key.
 */

/** Every call the port makes; used in metrics and logs. */
export type ProcessorOperation =
  | 'authorize'
  | 'capture'
  | 'void'
  | 'refund'
  | 'get_operation_status'
  | 'create_bank_debit'
  | 'get_bank_debit'
  | 'create_bank_credit';

export type CircuitStateName = 'closed' | 'open' | 'half_open';

/** Card brands the processor reports; `unknown` for a Luhn-valid number outside the known ranges. */
export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'unknown';

/**
 * Normalized decline codes. A processor code this adapter does not recognise becomes `processor_declined`, with the
 * raw code kept in `processorCode`.
 */
export const DECLINE_CODES = [
  'card_declined',
  'insufficient_funds',
  'expired_card',
  'incorrect_cvc',
  'invalid_number',
  'refund_declined',
  'invalid_routing_number',
  'processor_declined',
] as const;
export type DeclineCode = (typeof DECLINE_CODES)[number];

/**
 * `processing_error`: the processor answered and we know it did nothing (4xx: `retryable: false`; 5xx/429 after the
 * adapter's bounded retries: `retryable: true`).
 * `processor_unavailable`: no request reached the processor (`sent: false`): circuit open, or the TCP connection
 * could not be established. Always retryable.
 */
export type ProcessorErrorCode = 'processing_error' | 'processor_unavailable';

/**
 * Why an outcome is unknown: the request may have been executed. `server_error` is for processors whose 5xx
 * answers do not prove that nothing was done (Stripe documents a 500 as indeterminate).
 */
export type UnknownReason = 'timeout' | 'connection_error' | 'bad_response' | 'server_error';

export interface DeclinedOutcome {
  kind: 'declined';
  code: DeclineCode;
  /** The processor's own decline code, verbatim (for support and logs). */
  processorCode: string;
  message: string;
  /** Present when the processor recorded the declined operation (e.g. a declined authorization has an `auth_` id). */
  processorReference?: string;
}

export interface ErrorOutcome {
  kind: 'error';
  code: ProcessorErrorCode;
  message: string;
  retryable: boolean;
  /** False when the request never left NimbusPay: nothing can have happened at the processor. */
  sent: boolean;
  /** HTTP status of the last answer, when there was one. */
  httpStatus?: number;
  /** The processor's error code, when it gave one (e.g. `invalid_state`, `idempotency_key_reused`). */
  processorCode?: string;
}

export interface UnknownOutcome {
  kind: 'unknown';
  reason: UnknownReason;
  message: string;
}

/** Failures shared by every mutating operation. */
export type FailedOutcome = ErrorOutcome | UnknownOutcome;

export interface CardMetadata {
  brand: CardBrand;
  last4: string;
}

// ---- card authorizations -------------------------------------------------------------------------------------

export interface CardDetails {
  /** Primary account number, digits only. Never logged or persisted by the adapter. */
  number: string;
  expMonth: number;
  /** Four-digit year. */
  expYear: number;
  cvc: string;
}

export interface AuthorizeRequest {
  /** Our idempotency key for this attempt (derived by the caller from its attempt id). */
  idempotencyKey: string;
  amountMinor: bigint;
  /** ISO 4217 alphabetic code, any case; outcomes report it upper-case. */
  currency: string;
  card: CardDetails;
  /** true = authorize and capture in one step. */
  capture: boolean;
}

export interface AuthorizeApproved {
  kind: 'approved';
  /** The processor's authorization id (`auth_…`): needed for capture, void and refund. */
  processorReference: string;
  authorizedAmountMinor: bigint;
  /** Equals `authorizedAmountMinor` when the request had `capture: true`, otherwise 0. */
  capturedAmountMinor: bigint;
  currency: string;
  card: CardMetadata;
}

/** A decision the processor recorded for an authorization. */
export type AuthorizeDecision = AuthorizeApproved | DeclinedOutcome;
export type AuthorizeOutcome = AuthorizeDecision | FailedOutcome;

export interface CaptureRequest {
  idempotencyKey: string;
  /** The authorization's `processorReference`. */
  authorizationReference: string;
  /** At most the authorized amount; a single capture per authorization (the remainder is released). */
  amountMinor: bigint;
}

export interface CaptureApproved {
  kind: 'approved';
  /** The authorization id, unchanged. */
  processorReference: string;
  capturedAmountMinor: bigint;
  authorizedAmountMinor: bigint;
  currency: string;
}

export type CaptureDecision = CaptureApproved | DeclinedOutcome;
export type CaptureOutcome = CaptureDecision | FailedOutcome;

export interface VoidRequest {
  idempotencyKey: string;
  authorizationReference: string;
}

export interface VoidApproved {
  kind: 'approved';
  /** The authorization id, unchanged. */
  processorReference: string;
}

export type VoidDecision = VoidApproved | DeclinedOutcome;
export type VoidOutcome = VoidDecision | FailedOutcome;

export interface RefundRequest {
  idempotencyKey: string;
  authorizationReference: string;
  /** Sum of all refunds of an authorization may not exceed its captured amount. */
  amountMinor: bigint;
}

export interface RefundApproved {
  kind: 'approved';
  /** The processor's refund id (`rf_…`). */
  processorReference: string;
  authorizationReference: string;
  amountMinor: bigint;
  currency: string;
}

export type RefundDecision = RefundApproved | DeclinedOutcome;
export type RefundOutcome = RefundDecision | FailedOutcome;

// ---- bank rail (ACH-like) ------------------------------------------------------------------------------------

export type BankAccountType = 'checking' | 'savings';

export interface BankAccountDetails {
  /** Digits only. Never logged or persisted by the adapter. */
  accountNumber: string;
  /** 9-digit ABA routing number. */
  routingNumber: string;
  accountType: BankAccountType;
  holderName: string;
}

export interface CreateBankDebitRequest {
  idempotencyKey: string;
  amountMinor: bigint;
  /** The rail only moves USD. */
  currency: string;
  account: BankAccountDetails;
}

/** `declined` debits were refused at submission (e.g. unknown routing number) and never moved money. */
export type BankDebitStatus = 'submitted' | 'settled' | 'returned' | 'declined';

/**
 * A debit as the rail reports it now. A return BEFORE settlement has `returnedAt` and no `settledAt` (the payment
 * fails); a LATE return has both (the payment was succeeded and is now reversed).
 */
export interface BankDebitSnapshot {
  processorReference: string;
  idempotencyKey: string;
  status: BankDebitStatus;
  amountMinor: bigint;
  currency: string;
  accountLast4: string;
  submittedAt: Date;
  settledAt?: Date;
  returnedAt?: Date;
  /** NACHA return code, e.g. `R01`; only when `status === 'returned'`. */
  returnCode?: string;
  returnReason?: string;
  /** Only when `status === 'declined'`. */
  declineCode?: DeclineCode;
}

export interface BankDebitApproved {
  kind: 'approved';
  /** The debit id (`bd_…`). Approved means accepted for submission: settlement comes later. */
  processorReference: string;
  debit: BankDebitSnapshot;
}

export type BankDebitDecision = BankDebitApproved | DeclinedOutcome;
export type BankDebitOutcome = BankDebitDecision | FailedOutcome;

export interface CreateBankCreditRequest {
  idempotencyKey: string;
  /** The settled debit being refunded (its `processorReference`). */
  debitReference: string;
  /** Sum of credits against a debit may not exceed the debit amount. */
  amountMinor: bigint;
}

export interface BankCreditApproved {
  kind: 'approved';
  /** The credit id (`bc_…`). */
  processorReference: string;
  debitReference: string;
  amountMinor: bigint;
  currency: string;
}

export type BankCreditDecision = BankCreditApproved | DeclinedOutcome;
export type BankCreditOutcome = BankCreditDecision | FailedOutcome;

// ---- queries -------------------------------------------------------------------------------------------------

/**
 * The processor could not be asked right now; try again later. `sent: false` means the query never left
 * NimbusPay (circuit open or connection refused).
 */
export interface QueryUnavailable {
  kind: 'unavailable';
  /**
   * `not_yet_consistent`: the processor's lookup for this operation is eventually consistent (Stripe's search) and
   * the operation is too recent for "not found" to be believed yet.
   */
  reason: 'circuit_open' | 'connect_failed' | 'timeout' | 'connection_error' | 'server_error' | 'client_error' | 'bad_response' | 'not_yet_consistent';
  message: string;
  sent: boolean;
  httpStatus?: number;
}

export interface NotFound {
  kind: 'not_found';
}

/**
 * What the processor recorded for an idempotency key: the same decision a replay of the original request would
 * return. For bank debits, `outcome.debit` is the debit as it was at submission — ask `getBankDebit` for its
 * current status.
 */
export type RecordedOperation =
  | { kind: 'found'; operation: 'authorize'; outcome: AuthorizeDecision }
  | { kind: 'found'; operation: 'capture'; outcome: CaptureDecision }
  | { kind: 'found'; operation: 'void'; outcome: VoidDecision }
  | { kind: 'found'; operation: 'refund'; outcome: RefundDecision }
  | { kind: 'found'; operation: 'bank_debit'; outcome: BankDebitDecision }
  | { kind: 'found'; operation: 'bank_credit'; outcome: BankCreditDecision };

/** `not_found` is authoritative: the processor recorded nothing under this key, so the operation did not happen. */
export type OperationStatusResult = RecordedOperation | NotFound | QueryUnavailable;

export type RecordedOperationName = RecordedOperation['operation'];

/**
 * What the reconciler knows about an attempt whose outcome it must find out. A processor that records operations
 * by idempotency key (the sandbox) needs only the key; one that does not (Stripe) finds the operation from the
 * object it acted on (`targetReference`) or from the key stored in the object's metadata, and may need the
 * attempt's age to know whether its lookup can be trusted yet.
 */
export interface OperationLookup {
  idempotencyKey: string;
  operation: RecordedOperationName;
  createdAt: Date;
  /** The authorization (capture, void, refund) or debit (bank credit) the operation acted on. */
  targetReference?: string | undefined;
}

export type BankDebitQueryResult = { kind: 'found'; debit: BankDebitSnapshot } | NotFound | QueryUnavailable;

// ---- the port ------------------------------------------------------------------------------------------------

/**
 * Every method resolves (never rejects) with a normalized outcome. Calls are made outside any database
 * transaction. Each mutating call carries the caller's idempotency key: calling again with the same key and the
 * same arguments can never move money twice; the same key with different arguments is an `error`
 * (`processorCode: 'idempotency_key_reused'`).
 */
export interface PaymentProcessor {
  authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome>;
  capture(request: CaptureRequest): Promise<CaptureOutcome>;
  voidAuthorization(request: VoidRequest): Promise<VoidOutcome>;
  refund(request: RefundRequest): Promise<RefundOutcome>;
  /** Reconciliation: what happened to the operation sent with this idempotency key. */
  getOperationStatus(lookup: OperationLookup): Promise<OperationStatusResult>;
  createBankDebit(request: CreateBankDebitRequest): Promise<BankDebitOutcome>;
  /** Current status of a debit, computed by the rail at query time (polling complements pushed notifications). */
  getBankDebit(debitReference: string): Promise<BankDebitQueryResult>;
  createBankCredit(request: CreateBankCreditRequest): Promise<BankCreditOutcome>;
  /**
   * Whether a call would be let through now, for callers that refuse work before writing anything: `open` while
   * the circuit refuses calls (also while its one trial call is in flight), `half_open` once the next call would be
   * that trial, `closed` otherwise.
   */
  circuitState(): CircuitStateName;
}

/** A port implementation the process owns: it holds connections that must be closed at shutdown. */
export interface ProcessorAdapter extends PaymentProcessor {
  /** Closes the connection pool (waits for in-flight calls). Idempotent. */
  close(): Promise<void>;
}

/** Reported after every port call (for metrics). `outcome` is the result's `kind`. */
export interface ProcessorCallReport {
  operation: ProcessorOperation;
  outcome: AuthorizeOutcome['kind'] | OperationStatusResult['kind'];
  /** Decline/error code or unknown/unavailable reason, when there is one (low cardinality: safe as a label). */
  code?: string;
  latencyMs: number;
  /** HTTP attempts made (0 when the circuit was open). */
  attempts: number;
}
