import { afterCommit, withTenantTx, type Tx } from '../../platform/db.js';
import { newId } from '../../platform/ids.js';
import type { BankDebitDecision } from '../processors/index.js';
import * as repo from './payments.repository.js';
import { assertTransition } from './payment-state.js';
import { recordPaymentEvent, toPaymentResource } from './payment-resource.js';
import { outcomeContext, type CreatedPayment, type CreationKey, type PaymentsDeps } from './payment-operations.js';
import type { ValidatedPayment } from './payment-validation.js';
import { bankAccountFingerprint } from './bank-account.js';
import { warnLookupUnavailable } from './payment-outcomes.js';
import { convergeBankTransfer, snapshotFromDebit, type BankTransfersDeps, type RailSource } from './bank-rail.service.js';

// A bank transfer up to the rail: creating it (POST /v1/payments), and the answer to its submission, whether the
// submission call gives it or the reconciler finds it later. From the rail's acceptance on, bank-rail.service.ts
// moves it.

/**
 * POST /v1/payments for a bank transfer: one transaction claims the key, creates the transfer (`processing`, rail
 * `pending`, the account number kept encrypted for the cancel window) and stores the idempotent answer. The rail
 * is called later, by the submission job. A request resumed under the same key returns the transfer it created.
 */
export async function createBankTransfer(
  deps: PaymentsDeps,
  tenantId: string,
  valid: Extract<ValidatedPayment, { method: 'bank_transfer' }>,
  idempotency: CreationKey,
): Promise<CreatedPayment> {
  const { input, account, checked } = valid;
  return withTenantTx(deps.db, tenantId, async (tx): Promise<CreatedPayment> => {
    // Only a takeover can find one: a fresh claim has just checked, in this transaction, that the key created nothing.
    const { takeover } = await idempotency.claim(tx);
    const resumed = takeover ? await repo.findPaymentByIdempotencyKey(tx, tenantId, idempotency.key) : undefined;
    if (resumed) return { outcome: 'resumed', payment: toPaymentResource(resumed) };
    const payment = await repo.insertPayment(tx, tenantId, {
      id: newId('payment'),
      status: 'processing',
      amount: valid.amountMinor,
      currency: valid.currency,
      description: input.description ?? null,
      metadata: JSON.stringify(input.metadata ?? {}),
      customer_reference: input.customer_reference ?? null,
      idempotency_key: idempotency.key,
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
    await idempotency.storeCreated(tx, resource);
    return { outcome: 'created', payment: resource };
  });
}

/**
 * The rail refused the debit at submission (e.g. an ABA-valid routing number it does not serve): no money moved,
 * the payment fails with the decline code. The rail status stays `pending` (the transfer never reached the rail).
 */
export async function failDeclinedSubmission(
  tx: Tx,
  deps: BankTransfersDeps,
  tenantId: string,
  attempt: repo.AttemptRow,
  decline: { code: string; message: string; processorReference?: string | undefined },
  latencyMs: number | null,
): Promise<repo.PaymentRow> {
  const payment = await repo.lockPaymentForUpdate(tx, tenantId, attempt.payment_id);
  if (!payment) throw new Error(`attempt ${attempt.id} has no payment`);
  const done = await repo.completeAttempt(tx, tenantId, attempt.id, {
    status: 'failed', failure_code: decline.code, failure_message: decline.message, latency_ms: latencyMs, processor_reference: decline.processorReference ?? null,
  });
  if (!done || payment.status !== 'processing' || payment.rail_status !== 'pending') return payment;
  // No rail event names a refusal at submission; the payment edge processing → failed is the one a return takes.
  assertTransition('bank_transfer', payment.status, 'failed');
  const updated = await repo.updatePayment(tx, tenantId, payment.id, payment.status, {
    status: 'failed', failure_code: decline.code, failure_message: decline.message, bank_account_number_enc: null, rail_next_poll_at: null,
  });
  if (!updated) throw new Error(`payment ${payment.id} changed under its row lock`);
  await repo.insertTransition(tx, tenantId, { payment_id: payment.id, from_status: payment.status, to_status: 'failed', rail_status: 'pending', reason: `submission declined: ${decline.code}` });
  await recordPaymentEvent(tx, tenantId, updated, 'payment.failed');
  afterCommit(tx, () => deps.metrics.paymentsTotal.inc({ method: 'bank_transfer', status: 'failed', failure_code: decline.code }));
  return updated;
}

/**
 * Applies the answer to a submission (from the call itself or, after an unknown outcome, from the processor's
 * record of the idempotency key).
 */
export async function applyBankDebitDecision(
  tx: Tx,
  deps: BankTransfersDeps,
  tenantId: string,
  attempt: repo.AttemptRow,
  decision: BankDebitDecision,
  source: RailSource,
  latencyMs: number | null,
): Promise<repo.PaymentRow> {
  if (decision.kind === 'declined') {
    return failDeclinedSubmission(tx, deps, tenantId, attempt, { code: decision.code, message: decision.message, processorReference: decision.processorReference }, latencyMs);
  }
  const snapshot = snapshotFromDebit(decision.debit);
  if (!snapshot) {
    const code = decision.debit.declineCode ?? 'processor_declined';
    return failDeclinedSubmission(tx, deps, tenantId, attempt, { code, message: 'The bank rail refused the debit.', processorReference: decision.processorReference }, latencyMs);
  }
  return (await convergeBankTransfer(tx, deps, tenantId, attempt.payment_id, snapshot, source, latencyMs)).payment;
}

/**
 * Reconciler branch for an open `bank_debit` attempt (a submission whose answer we never got): asks the processor
 * what it recorded under the attempt id. Not recorded (and no longer possibly in flight) means the debit never
 * happened: the attempt fails and the transfer, still `pending` with its encrypted account number, goes back to
 * the submission queue under a new attempt.
 */
export async function resolveBankDebitAttempt(deps: BankTransfersDeps, attempt: repo.AttemptRow): Promise<void> {
  const log = deps.logger.child({ job: 'reconcile-payments', attempt_id: attempt.id, payment_id: attempt.payment_id, tenant_id: attempt.tenant_id });
  const status = await deps.processor.getOperationStatus({ idempotencyKey: attempt.id, operation: 'bank_debit', createdAt: attempt.created_at });
  const tenantId = attempt.tenant_id;
  if (status.kind === 'unavailable') {
    warnLookupUnavailable(log, status);
    return;
  }
  if (status.kind === 'not_found') {
    deps.metrics.processorNotFound.inc({ operation: 'get_operation_status' });
    // The processor never answered this submission, so it never told us it accepted it: once no request can be
    // in flight any more, "not found" is authoritative (processor-port.ts) and the transfer is submitted again.
    // A debit it did accept and later forgets is the rail poll's case (recordLostDebitStep), never resubmitted.
    if (Date.now() - attempt.created_at.getTime() < deps.inFlightMs) return;
    await withTenantTx(deps.db, tenantId, (tx) =>
      repo.completeAttempt(tx, tenantId, attempt.id, { status: 'failed', failure_code: 'processor_timeout', failure_message: 'The processor recorded no such debit; the transfer will be submitted again.' }));
    log.info('bank debit was never recorded; transfer returns to the submission queue');
    return;
  }
  if (status.operation !== 'bank_debit') {
    log.error({ operation: status.operation }, 'processor recorded another operation under a bank debit key');
    return;
  }
  const decision = status.outcome;
  await withTenantTx(deps.db, tenantId, (tx) => applyBankDebitDecision(tx, deps, tenantId, attempt, decision, 'reconciliation', attempt.latency_ms));
  log.info({ outcome: decision.kind }, 'bank debit attempt reconciled');
}

/** Delay before an unknown submission is first looked up, and before a failed one is tried again. */
export function bankRetryDelayMs(deps: PaymentsDeps): number {
  return outcomeContext(deps).firstReconcileDelayMs;
}
