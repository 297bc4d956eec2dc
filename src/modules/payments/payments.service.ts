import type { Db } from '../../platform/db.js';
import { withTenantTx, type Tx } from '../../platform/db.js';
import { AppError, notFound, type ErrorCode } from '../../platform/errors.js';
import { isId, newId } from '../../platform/ids.js';
import type { KeyRing } from '../../platform/crypto.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { validateAmountMinor, type AmountValidation } from '../../platform/money.js';
import { toPage } from '../../platform/pagination.js';
import type { CreatedUnderKey, IdempotencyContext, KeyBinding } from '../../platform/http/idempotency.js';
import type { PaymentProcessor } from '../processors/index.js';
import * as repo from './payments.repository.js';
import { cardFingerprint, validateCard } from './card.js';
import { BANK_TRANSFER_CURRENCY, bankAccountFingerprint, validateBankAccount } from './bank-account.js';
import { InvalidStateError, applyPaymentEvent, assertOperationAllowed, type PaymentOperation } from './payment-state.js';
import { recordPaymentEvent, toPaymentResource } from './payment-resource.js';
import { applyCardOutcome, type OutcomeContext } from './payment-outcomes.js';
import type { CreatePaymentInput, ListPaymentsFilter, PaymentResource } from './payments.schema.js';

export interface PaymentsDeps {
  db: Db;
  processor: PaymentProcessor;
  metrics: Metrics;
  logger: Logger;
  keyRing: KeyRing;
  /** Longest a processor call can still be in flight (timeouts × tries + backoff): the reconciler waits this long. */
  inFlightMs: number;
  reconcileIntervalsMs: readonly number[];
  /** Delay between creating a bank transfer and submitting it to the rail (the window in which it can be canceled). */
  bankSubmitDelayMs: number;
  now?: () => Date;
}

export function outcomeContext(deps: PaymentsDeps): OutcomeContext {
  return { metrics: deps.metrics, firstReconcileDelayMs: deps.reconcileIntervalsMs[0]! };
}

/** The state machine's answer to "may this payment be captured / canceled / refunded now?", as the documented 409. */
export function requireOperationAllowed(payment: Pick<repo.PaymentRow, 'method' | 'status'>, operation: PaymentOperation): void {
  try {
    assertOperationAllowed(payment.method, payment.status, operation);
  } catch (err) {
    if (err instanceof InvalidStateError) throw new AppError('invalid_state', err.message);
    throw err;
  }
}

function elapsedMs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1_000_000n);
}

export interface PaymentResult {
  status: 201 | 200 | 202;
  payment: PaymentResource;
}

type ValidCard = Extract<ReturnType<typeof validateCard>, { ok: true }>;
type ValidBankAccount = Extract<ReturnType<typeof validateBankAccount>, { ok: true }>;

const AMOUNT_ERROR_CODES: Record<Extract<AmountValidation, { ok: false }>['code'], ErrorCode> = {
  invalid_currency: 'parameter_invalid_enum',
  amount_not_integer: 'parameter_invalid_integer',
  amount_too_small: 'amount_too_small',
  amount_too_large: 'amount_too_large',
};

/** A create-payment request that passed every check that needs no database: safe to execute. */
export type ValidatedPayment = {
  input: CreatePaymentInput;
  amountMinor: bigint;
  currency: string;
} & (
  | { method: 'card'; card: NonNullable<CreatePaymentInput['payment_method']['card']>; checked: ValidCard }
  | { method: 'bank_transfer'; account: NonNullable<CreatePaymentInput['payment_method']['bank_account']>; checked: ValidBankAccount }
);

/**
 * Every check of a create-payment request that needs no database, run BEFORE the Idempotency-Key is claimed: a
 * request refused here stores nothing, so the client may fix it and retry with the same key.
 */
export function validateCreatePayment(input: CreatePaymentInput, now: Date): ValidatedPayment {
  const currency = input.currency.toLowerCase();
  const amount = validateAmountMinor(input.amount, currency);
  if (!amount.ok) throw new AppError(AMOUNT_ERROR_CODES[amount.code], amount.message, { param: amount.param });
  const common = { input, amountMinor: amount.amountMinor, currency };
  const method = input.payment_method;
  if (method.type === 'card') {
    if (!method.card) {
      throw new AppError('parameter_missing', 'A card payment needs payment_method[card]: send the card\'s number, exp_month, exp_year and cvc.', { param: 'payment_method[card]' });
    }
    if (method.bank_account) {
      throw new AppError('parameters_exclusive', 'A card payment takes payment_method[card] only: remove payment_method[bank_account].', { param: 'payment_method[bank_account]' });
    }
    const checked = validateCard(method.card, now);
    if (!checked.ok) throw new AppError('invalid_card', checked.message, { param: checked.param });
    return { ...common, method: 'card', card: method.card, checked };
  }
  if (!method.bank_account) {
    throw new AppError('parameter_missing', 'A bank transfer needs payment_method[bank_account]: send the account_holder_name, account_number, routing_number and account_type.', { param: 'payment_method[bank_account]' });
  }
  if (method.card) {
    throw new AppError('parameters_exclusive', 'A bank transfer takes payment_method[bank_account] only: remove payment_method[card].', { param: 'payment_method[card]' });
  }
  if (currency !== BANK_TRANSFER_CURRENCY) {
    throw new AppError('parameter_invalid_enum', `Invalid currency for a bank transfer: it must be one of: ${BANK_TRANSFER_CURRENCY}.`, { param: 'currency' });
  }
  if (input.capture_method === 'manual') {
    throw new AppError('parameter_invalid_enum', 'Invalid capture_method for a bank transfer: it must be one of: automatic (bank transfers are captured automatically).', { param: 'capture_method' });
  }
  const checked = validateBankAccount(method.bank_account);
  if (!checked.ok) throw new AppError('invalid_bank_account', checked.message, { param: checked.param });
  return { ...common, method: 'bank_transfer', account: method.bank_account, checked };
}

/** What createPayment needs of runIdempotent's context (claimed in the handler: `claimInHandler`). */
export type PaymentIdempotency = Pick<IdempotencyContext, 'key' | 'claim' | 'complete' | 'claimRequest' | 'acceptClaim' | 'answerStored'>;

/**
 * POST /v1/payments. Transaction 1 claims the key and creates the payment and its attempt; the processor is called
 * with no transaction open; transaction 2 applies the outcome and stores the idempotent answer. For a card each
 * transaction is one statement (`create_card_payment`, `settle_card_attempt`): two database round trips. A request
 * resumed under the same Idempotency-Key after a crash finds the payment it created and returns it as it is now
 * (the reconciler finishes whatever was left open).
 */
export async function createPayment(
  deps: PaymentsDeps,
  tenantId: string,
  valid: ValidatedPayment,
  idempotency: PaymentIdempotency,
): Promise<PaymentResult> {
  const { input, amountMinor, currency } = valid;
  const idempotencyKey = idempotency.key;

  const common = {
    id: newId('payment'),
    status: 'processing' as const,
    amount: amountMinor,
    currency,
    description: input.description ?? null,
    metadata: JSON.stringify(input.metadata ?? {}),
    customer_reference: input.customer_reference ?? null,
    idempotency_key: idempotencyKey,
  };

  if (valid.method === 'bank_transfer') return createBankTransfer(deps, tenantId, valid, common, idempotency);
  const { card, checked } = valid;
  if (deps.processor.circuitState() === 'open') {
    throw new AppError('processor_unavailable', 'The payment processor is unavailable; nothing was charged. Retry later with the same Idempotency-Key.');
  }
  const values: repo.NewCardPayment['payment'] = {
    id: common.id,
    amount: amountMinor,
    currency,
    capture_method: input.capture_method ?? 'automatic',
    description: common.description,
    metadata: input.metadata ?? {},
    customer_reference: common.customer_reference,
    card_brand: checked.brand,
    card_last4: checked.last4,
    card_exp_month: card.exp_month,
    card_exp_year: card.exp_year,
    card_fingerprint: cardFingerprint(card.number, deps.keyRing.key('card-fingerprint')),
  };
  // The timestamps are the database's: the statement stamps them into the serialised resource and returns them.
  const pending = newCardPaymentRow(tenantId, idempotencyKey, values, new Date(0));
  const attempt = { id: newId('attempt'), operation: 'authorize' as const, amount: amountMinor };
  const created = await repo.createCardPayment(deps.db, tenantId, {
    claim: idempotency.claimRequest,
    payment: values,
    attemptId: attempt.id,
    reconcileAfterMs: deps.inFlightMs,
    transitionId: newId('transition'),
    eventId: newId('event'),
    resourceJson: JSON.stringify(toPaymentResource(pending)),
  });
  if (created.outcome === 'resumed') {
    const resumed = await withTenantTx(deps.db, tenantId, (tx) => repo.findPayment(tx, tenantId, created.payment_id!));
    if (!resumed) throw new Error(`payment ${created.payment_id} created under the key is gone`);
    return { status: 201, payment: toPaymentResource(resumed) };
  }
  if (created.outcome !== 'created') {
    idempotency.acceptClaim({ ...created, outcome: created.outcome }); // throws: the key is not ours, and nothing was written
    throw new Error(`create_card_payment claimed the key but created nothing (${created.outcome})`);
  }
  const payment: repo.PaymentRow = { ...pending, created_at: created.created_at!, updated_at: created.updated_at! };

  const started = process.hrtime.bigint();
  const outcome = await deps.processor.authorize({
    idempotencyKey: attempt.id,
    amountMinor,
    currency,
    card: { number: card.number, expMonth: card.exp_month, expYear: card.exp_year, cvc: card.cvc },
    capture: values.capture_method === 'automatic',
  });
  const latency = elapsedMs(started);
  const settled = await applyCardOutcome(deps.db, outcomeContext(deps), tenantId, payment, attempt, outcome, latency, { key: idempotencyKey, status: 201 });
  // superseded (the reconciler applied the outcome first): the answer is the payment as it is now, stored afterwards
  if (settled.applied) idempotency.answerStored({ status: 201, body: settled.resource });
  if (outcome.kind === 'unknown') {
    deps.logger.warn({ payment_id: payment.id, attempt_id: attempt.id, reason: outcome.reason }, 'authorization outcome unknown; left for reconciliation');
  }
  return { status: 201, payment: settled.resource };
}

/** The row `create_card_payment` inserts, as a read would return it (every other column has its default). */
function newCardPaymentRow(tenantId: string, key: string, v: repo.NewCardPayment['payment'], at: Date): repo.PaymentRow {
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

async function createBankTransfer(
  deps: PaymentsDeps,
  tenantId: string,
  valid: Extract<ValidatedPayment, { method: 'bank_transfer' }>,
  common: { id: string; status: 'processing'; amount: bigint; currency: string; description: string | null; metadata: string; customer_reference: string | null; idempotency_key: string },
  idempotency: PaymentIdempotency,
): Promise<PaymentResult> {
  const { account, checked } = valid;
  const payment = await withTenantTx(deps.db, tenantId, async (tx) => {
    const resumed = await findResumedPayment(tx, tenantId, idempotency);
    if (resumed) return toPaymentResource(resumed);
    const payment = await repo.insertPayment(tx, tenantId, {
      ...common,
      method: 'bank_transfer',
      capture_method: 'automatic',
      bank_account_holder: checked.account_holder_name,
      bank_routing_number: checked.routing_number,
      bank_account_last4: checked.last4,
      bank_account_type: checked.account_type,
      bank_fingerprint: bankAccountFingerprint(checked.routing_number, account.account_number, deps.keyRing.key('bank-fingerprint')),
      bank_account_number_enc: deps.keyRing.encrypt('bank-account-number', account.account_number),
      rail_status: 'pending',
      expected_settlement_at: null,
    });
    await repo.insertTransition(tx, tenantId, { payment_id: payment.id, from_status: null, to_status: 'processing', rail_status: 'pending', reason: 'created' });
    await recordPaymentEvent(tx, tenantId, payment, 'payment.processing');
    // the transfer's only transaction in this request: it also stores the idempotent answer
    const resource = toPaymentResource(payment);
    await idempotency.complete(tx, { status: 201, body: resource });
    return resource;
  });
  return { status: 201, payment };
}

/**
 * Claims the key (first statement of transaction 1) and finds the payment an earlier run of this request created.
 * Only a takeover can have one: a fresh claim has just checked, in this transaction, that the key created nothing.
 */
async function findResumedPayment(tx: Tx, tenantId: string, idempotency: PaymentIdempotency) {
  const { takeover } = await idempotency.claim(tx);
  return takeover ? repo.findPaymentByIdempotencyKey(tx, tenantId, idempotency.key) : undefined;
}

/** runIdempotent's `describeBinding` for every payments route: the payment or refund created under a key, named for the client. */
export function describeKeyBinding(found: CreatedUnderKey): KeyBinding {
  if (found.object === 'payment') return { id: found.id, createdAt: found.created_at, retrievePath: `/v1/payments/${found.id}` };
  return { id: found.id, label: `${found.id} (a refund of ${found.payment_id})`, createdAt: found.created_at, retrievePath: `/v1/refunds/${found.id}` };
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
export async function capturePayment(deps: PaymentsDeps, tenantId: string, id: string, amount: number | undefined): Promise<PaymentResult> {
  if (!isId('payment', id)) throw notFound('payment', id);
  const { payment, attempt } = await withTenantTx(deps.db, tenantId, async (tx) => {
    const payment = await repo.lockPaymentForUpdate(tx, tenantId, id);
    if (!payment) throw notFound('payment', id);
    requireOperationAllowed(payment, 'capture');
    const open = await repo.findOpenAttempt(tx, tenantId, id, ['capture', 'void']);
    if (open) throw new AppError('invalid_state', `A ${open.operation} of this payment is already in progress.`);
    const captureMinor = amount === undefined ? payment.amount_capturable : BigInt(amount);
    if (captureMinor > payment.amount_capturable) {
      throw new AppError('amount_too_large', `Amount to capture (${captureMinor}) exceeds the capturable amount (${payment.amount_capturable}): send at most that, or omit amount to capture it all.`, { param: 'amount' });
    }
    const attempt = await repo.insertAttempt(tx, tenantId, { payment_id: id, operation: 'capture', amount: captureMinor, reconcileAfterMs: deps.inFlightMs });
    return { payment, attempt };
  });
  const started = process.hrtime.bigint();
  const outcome = await deps.processor.capture({ idempotencyKey: attempt.id, authorizationReference: payment.processor_reference!, amountMinor: attempt.amount });
  const latency = elapsedMs(started);
  const result = await applyCardOutcome(deps.db, outcomeContext(deps), tenantId, payment, attempt, outcome, latency);
  if (result.failure) throw new AppError('processor_declined', `The processor refused the capture: ${result.failure.message}`);
  return { status: outcome.kind === 'unknown' ? 202 : 200, payment: result.resource };
}

/** Cancel: void an uncaptured card authorization, or stop a bank transfer not yet submitted to the rail. */
export async function cancelPayment(deps: PaymentsDeps, tenantId: string, id: string): Promise<PaymentResult> {
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
      await repo.insertTransition(tx, tenantId, { payment_id: id, from_status: payment.status, to_status: to, rail_status: 'canceled', reason: 'canceled before submission' });
      if (!updated) throw new Error(`payment ${id} changed under its row lock`);
      await recordPaymentEvent(tx, tenantId, updated, 'payment.canceled');
      return { kind: 'done' as const, payment: updated };
    }
    const open = await repo.findOpenAttempt(tx, tenantId, id, ['capture', 'void']);
    if (open) throw new AppError('invalid_state', `A ${open.operation} of this payment is already in progress.`);
    const attempt = await repo.insertAttempt(tx, tenantId, { payment_id: id, operation: 'void', amount: payment.amount_capturable, reconcileAfterMs: deps.inFlightMs });
    return { kind: 'void' as const, payment, attempt };
  });
  if (prepared.kind === 'done') {
    // counted once committed
    deps.metrics.paymentsTotal.inc({ method: 'bank_transfer', status: prepared.payment.status, failure_code: '' });
    return { status: 200, payment: toPaymentResource(prepared.payment) };
  }
  const { payment, attempt } = prepared;
  const started = process.hrtime.bigint();
  const outcome = await deps.processor.voidAuthorization({ idempotencyKey: attempt.id, authorizationReference: payment.processor_reference! });
  const latency = elapsedMs(started);
  const result = await applyCardOutcome(deps.db, outcomeContext(deps), tenantId, payment, attempt, outcome, latency);
  if (result.failure) throw new AppError('processor_declined', `The processor refused to void the authorization: ${result.failure.message}`);
  return { status: outcome.kind === 'unknown' ? 202 : 200, payment: result.resource };
}
