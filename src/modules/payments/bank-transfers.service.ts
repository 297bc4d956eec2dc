import { withTenantTx, type Tx } from '../../platform/db.js';
import { newId } from '../../platform/ids.js';
import { RETURN_FAILURE_CODES, UNLISTED_RETURN_FAILURE_CODE } from './failure-codes.js';
import type { BankDebitDecision, BankDebitSnapshot } from '../processors/index.js';
import * as repo from './payments.repository.js';
import * as bankRepo from './bank-transfers.repository.js';
import {
  applyBankRailEvent, applyPaymentEvent, assertTransition, type BankRailEvent, type BankRailStatus, type BankTransferPaymentEvent,
} from './payment-state.js';
import { PAYMENT_STATUS_EVENT, recordPaymentEvent, toPaymentResource } from './payment-resource.js';
import { outcomeContext, type CreatedPayment, type CreationKey, type PaymentsDeps } from './payment-operations.js';
import type { ValidatedPayment } from './payment-validation.js';
import { bankAccountFingerprint } from './bank-account.js';
import { warnLookupUnavailable } from './payment-outcomes.js';

// The bank rail side of a bank transfer: recording its submission, then converging it to what the rail reports.
//
// One rule for every source. Whatever tells us about a debit — the answer to the submission, a reconciliation
// lookup, a poll, or a signed notification — is read as a SNAPSHOT of the debit (status, settled_at, returned_at,
// return code), and the transfer is moved forward to it through the rail state machine, one rail event at a time,
// under the payment's row lock. Moving forward is monotonic: `applyBankRailEvent` answers `duplicate` for what we
// already know and `ignored` for what is stale (a settlement notice after a return), so notifications delivered
// twice, late or out of order all end in the same state, and a late return whose settlement notice was lost
// still records the settlement first (succeeded → reversed, both in the history).
//
// Money view (docs/architecture.md §2.4): `amount_captured` is what the rail settled (the whole debit; ACH has no partial
// settlement), `amount_reversed` what a return after settlement took back, `amount_settled` = captured − reversed.
// A return after settlement always takes back the FULL debit, whatever was refunded before: refunds already sent
// (credits are separate ACH entries the customer received) stay credited and stay in `amount_refunded`, so the
// merchant's net on such a payment is −amount_refunded and recovering that from the customer is out of band.
// A reversed payment accepts no more refunds (refunds need status `succeeded`). The CHECKs hold: reversed =
// captured = amount, and refunded ≤ captured is untouched.

export interface BankRailSettings {
  /** Submission → expected settlement; from then on the transfer is polled if no notification came. */
  expectedSettlementMs: number;
  /** Between two polls of one transfer (also the lease of a claimed poll). */
  pollIntervalMs: number;
  /** How long after settlement a late return is still watched for. */
  returnWindowMs: number;
  /** After submission, how long "not found" is still read as the processor's eventual consistency (default LOST_DEBIT_GRACE_MS). */
  lostDebitGraceMs?: number;
  /** Longest wait between two polls of a debit the rail does not know (default LOST_DEBIT_BACKOFF_CAP_MS). */
  lostDebitBackoffCapMs?: number;
}

/**
 * A processor may answer "not found" for a debit it accepted a moment ago (a read replica behind the write). Real
 * lag is seconds; ten minutes leaves a wide margin and still flags a real loss long before anyone would notice it
 * otherwise (in production the first poll comes at the expected settlement, days later, so it is past this anyway).
 */
export const LOST_DEBIT_GRACE_MS = 10 * 60 * 1000;
/** A debit the rail has lost is asked about at least once a day, so the flag clears within a day of it coming back. */
export const LOST_DEBIT_BACKOFF_CAP_MS = 24 * 60 * 60 * 1000;

export interface BankTransfersDeps extends PaymentsDeps {
  bank: BankRailSettings;
}

/** The debit as the rail reports it, whatever the source. */
export interface RailSnapshot {
  debitReference: string;
  status: 'submitted' | 'settled' | 'returned';
  submittedAt?: Date | undefined;
  settledAt?: Date | undefined;
  returnedAt?: Date | undefined;
  returnCode?: string | undefined;
  returnReason?: string | undefined;
}

export type RailSource = 'submission' | 'reconciliation' | 'poll' | 'notification';

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

export function failureCodeForReturn(returnCode: string | undefined): string {
  return (returnCode !== undefined ? RETURN_FAILURE_CODES[returnCode.toUpperCase()] : undefined) ?? UNLISTED_RETURN_FAILURE_CODE;
}

export function snapshotFromDebit(debit: BankDebitSnapshot): RailSnapshot | undefined {
  if (debit.status === 'declined') return undefined;
  return {
    debitReference: debit.processorReference,
    status: debit.status,
    submittedAt: debit.submittedAt,
    settledAt: debit.settledAt,
    returnedAt: debit.returnedAt,
    returnCode: debit.returnCode,
    returnReason: debit.returnReason,
  };
}

/** The rail events that lead from nothing to `snapshot`, in the order the rail went through them. */
function railEventsOf(snapshot: RailSnapshot): BankRailEvent[] {
  switch (snapshot.status) {
    case 'submitted':
      return ['submitted'];
    case 'settled':
      return ['submitted', 'settled'];
    case 'returned':
      return snapshot.settledAt !== undefined ? ['submitted', 'settled', 'returned'] : ['submitted', 'returned'];
  }
}

export interface ConvergeResult {
  payment: repo.PaymentRow;
  /** Rail statuses entered, in order (empty when the snapshot told us nothing new). */
  moved: BankRailStatus[];
}

/**
 * Moves a bank transfer forward to `snapshot` (see the file comment). Runs in the caller's tenant transaction and
 * takes the payment's row lock. Also completes the open `bank_debit` attempt when this is the first news of the
 * submission (a notification can overtake the submission's own answer), and reschedules the rail poll.
 */
export async function convergeBankTransfer(
  tx: Tx,
  deps: BankTransfersDeps,
  tenantId: string,
  paymentId: string,
  snapshot: RailSnapshot,
  source: RailSource,
  latencyMs: number | null = null,
): Promise<ConvergeResult> {
  const now = (deps.now ?? (() => new Date()))();
  const locked = await repo.lockPaymentForUpdate(tx, tenantId, paymentId);
  if (!locked || locked.method !== 'bank_transfer' || locked.rail_status === null) throw new Error(`payment ${paymentId} is not a bank transfer`);
  let payment: repo.PaymentRow = locked;
  const moved: BankRailStatus[] = [];
  const log = deps.logger.child({ payment_id: paymentId, tenant_id: tenantId, source });

  // A transfer that failed at submission (declined) keeps rail `pending`; nothing on the rail can move it.
  if (payment.rail_status === 'pending' && payment.status !== 'processing') {
    log.error({ status: payment.status, rail_status: snapshot.status }, 'rail reports a debit for a transfer that never reached the rail; ignored');
    return { payment, moved };
  }

  for (const event of railEventsOf(snapshot)) {
    const rail = payment.rail_status as BankRailStatus;
    const step = applyBankRailEvent(rail, event);
    if (step.outcome === 'duplicate' || step.outcome === 'ignored') continue;
    if (step.outcome === 'invalid') {
      // E.g. `submitted` on a canceled transfer: our row lock makes it impossible, so it is a bug to alert on.
      log.error({ rail_status: rail, event }, 'rail event impossible in this rail status; ignored');
      continue;
    }
    payment = await applyRailStep(tx, deps, tenantId, payment, step.to, step.paymentEvent, snapshot, { now, source, latencyMs });
    moved.push(step.to);
  }
  await bankRepo.setRailNextPollAt(tx, tenantId, paymentId, nextRailPollAt(payment, deps.bank, now));
  if (payment.attention_reason === 'processor_lost_debit') {
    // Whatever the source, this snapshot is the rail knowing the debit again.
    await bankRepo.clearLostDebitAttention(tx, tenantId, paymentId);
    log.info({ rail_reference: snapshot.debitReference, attention_since: payment.attention_since, backoff_step: payment.rail_poll_backoff_step }, 'the rail knows the debit again; attention cleared');
  }
  if (moved.length > 0) log.info({ moved, rail_status: payment.rail_status, status: payment.status }, 'bank transfer moved on the rail');
  return { payment, moved };
}

export type LostDebitPlan =
  | { kind: 'within_grace'; graceEndsAt: Date }
  | { kind: 'backoff'; step: number; delayMs: number; nextPollAt: Date };

/**
 * What a poll answered "not found" for a debit the rail accepted means for `payment`: inside the grace window
 * after submission, nothing (the poll lease already schedules the next poll one interval on); after it, backoff
 * step n+1, whose poll is due pollInterval × 2^(n+1) later, capped.
 */
export function planLostDebitPoll(
  payment: Pick<repo.PaymentRow, 'submitted_at' | 'created_at' | 'rail_poll_backoff_step'>,
  bank: BankRailSettings,
  now: Date,
): LostDebitPlan {
  const acceptedAt = payment.submitted_at ?? payment.created_at;
  const graceEndsAt = new Date(acceptedAt.getTime() + (bank.lostDebitGraceMs ?? LOST_DEBIT_GRACE_MS));
  if (now < graceEndsAt) return { kind: 'within_grace', graceEndsAt };
  const step = payment.rail_poll_backoff_step + 1;
  const capMs = Math.max(bank.pollIntervalMs, bank.lostDebitBackoffCapMs ?? LOST_DEBIT_BACKOFF_CAP_MS);
  // The exponent is bounded so that a debit lost for years cannot overflow to Infinity before the cap applies.
  const delayMs = Math.min(capMs, bank.pollIntervalMs * 2 ** Math.min(step, 40));
  return { kind: 'backoff', step, delayMs, nextPollAt: new Date(now.getTime() + delayMs) };
}

/**
 * Records a backoff step for a debit the rail no longer knows (see planLostDebitPoll): the payment is flagged
 * `processor_lost_debit` (its status is never touched: "not found" says nothing about the money) and its next poll
 * pushed out. `claimed` is the row as the poll claimed it: if the transfer was converged or rescheduled since (a
 * notification, another worker whose lease ran out), that news is newer than this answer, and nothing is written.
 */
export async function recordLostDebitStep(
  tx: Tx,
  tenantId: string,
  claimed: repo.PaymentRow,
  plan: Extract<LostDebitPlan, { kind: 'backoff' }>,
  now: Date,
): Promise<{ attentionSince: Date } | undefined> {
  const locked = await repo.lockPaymentForUpdate(tx, tenantId, claimed.id);
  if (
    !locked
    || locked.rail_reference !== claimed.rail_reference
    || locked.rail_status !== claimed.rail_status
    || locked.rail_next_poll_at?.getTime() !== claimed.rail_next_poll_at?.getTime()
  ) {
    return undefined;
  }
  const attentionSince = locked.attention_reason === 'processor_lost_debit' && locked.attention_since !== null ? locked.attention_since : now;
  await bankRepo.flagLostDebit(tx, tenantId, claimed.id, { attentionSince, backoffStep: plan.step, nextPollAt: plan.nextPollAt });
  return { attentionSince };
}

async function applyRailStep(
  tx: Tx,
  deps: BankTransfersDeps,
  tenantId: string,
  payment: repo.PaymentRow,
  to: BankRailStatus,
  paymentEvent: BankTransferPaymentEvent | null,
  snapshot: RailSnapshot,
  context: { now: Date; source: RailSource; latencyMs: number | null },
): Promise<repo.PaymentRow> {
  const { now } = context;
  const status = paymentEvent === null ? payment.status : applyPaymentEvent('bank_transfer', payment.status, paymentEvent);
  let patch: Parameters<typeof repo.updatePayment>[4];
  let reason: string;
  switch (to) {
    case 'submitted': {
      const open = await repo.findOpenAttempt(tx, tenantId, payment.id, ['bank_debit']);
      if (open) {
        await repo.completeAttempt(tx, tenantId, open.id, { status: 'succeeded', processor_reference: snapshot.debitReference, latency_ms: context.latencyMs });
      }
      patch = {
        rail_status: 'submitted',
        rail_reference: snapshot.debitReference,
        processor_reference: snapshot.debitReference,
        submitted_at: snapshot.submittedAt ?? now,
        expected_settlement_at: new Date(now.getTime() + deps.bank.expectedSettlementMs),
        // The rail has the account now: the only copy we held (encrypted, for the cancel window) goes.
        bank_account_number_enc: null,
      };
      reason = `submitted to the rail (${context.source})`;
      break;
    }
    case 'settled':
      patch = { rail_status: 'settled', settled_at: snapshot.settledAt ?? now, amount_captured: payment.amount };
      reason = `settled (${context.source})`;
      break;
    case 'returned': {
      const returnCode = snapshot.returnCode ?? null;
      const common = { rail_status: 'returned' as const, returned_at: snapshot.returnedAt ?? now, return_code: returnCode, return_reason: snapshot.returnReason ?? null };
      if (paymentEvent === 'returned_after_settlement') {
        // The full debit comes back, whatever was refunded before (see the money view rule above).
        patch = { ...common, amount_reversed: payment.amount_captured };
        reason = `returned after settlement${returnCode ? ` ${returnCode}` : ''} (${context.source})`;
      } else {
        patch = {
          ...common,
          failure_code: failureCodeForReturn(snapshot.returnCode),
          failure_message: snapshot.returnReason ?? 'The bank returned the debit.',
        };
        reason = `returned before settlement${returnCode ? ` ${returnCode}` : ''} (${context.source})`;
      }
      break;
    }
    default:
      throw new Error(`rail status ${to} is not reached from the rail`);
  }
  const updated = await repo.updatePayment(tx, tenantId, payment.id, payment.status, { ...patch, status });
  if (!updated) throw new Error(`payment ${payment.id} changed under its row lock`);
  await repo.insertTransition(tx, tenantId, { payment_id: payment.id, from_status: payment.status, to_status: status, rail_status: to, reason });
  await recordPaymentEvent(tx, tenantId, updated, paymentEvent === null ? 'payment.updated' : PAYMENT_STATUS_EVENT[status]);
  if (status !== payment.status) {
    deps.metrics.paymentsTotal.inc({ method: 'bank_transfer', status, failure_code: updated.failure_code ?? (updated.return_code ? failureCodeForReturn(updated.return_code) : '') });
  }
  return updated;
}

/**
 * When the worker should next ask the rail: at the expected settlement, then every poll interval while submitted;
 * while settled, every poll interval until the return window closes; never once nothing can change.
 */
export function nextRailPollAt(payment: repo.PaymentRow, bank: BankRailSettings, now: Date): Date | null {
  const later = new Date(now.getTime() + bank.pollIntervalMs);
  if (payment.rail_status === 'submitted') {
    const expected = payment.expected_settlement_at;
    return expected !== null && expected > now ? expected : later;
  }
  if (payment.rail_status === 'settled') {
    const windowEnd = new Date((payment.settled_at ?? now).getTime() + bank.returnWindowMs);
    if (now >= windowEnd) return null;
    return later < windowEnd ? later : windowEnd;
  }
  return null;
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
  deps.metrics.paymentsTotal.inc({ method: 'bank_transfer', status: 'failed', failure_code: decline.code });
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
