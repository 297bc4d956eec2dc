import { afterCommit, type Tx } from '../../platform/db.js';
import { RETURN_FAILURE_CODES, UNLISTED_RETURN_FAILURE_CODE } from './failure-codes.js';
import type { BankDebitSnapshot } from '../processors/index.js';
import * as repo from './payments.repository.js';
import * as bankRepo from './bank-transfers.repository.js';
import { applyBankRailEvent, applyPaymentEvent, type BankRailEvent, type BankRailStatus, type BankTransferPaymentEvent } from './payment-state.js';
import { PAYMENT_STATUS_EVENT, recordPaymentEvent } from './payment-resource.js';
import type { PaymentsDeps } from './payment-operations.js';

// The bank rail side of a bank transfer once it is submitted: converging it to what the rail reports, and polling
// the rail for what no notification told us. Creating and submitting the transfer is bank-transfers.service.ts.
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
    const failureCode = updated.failure_code ?? (updated.return_code ? failureCodeForReturn(updated.return_code) : '');
    afterCommit(tx, () => deps.metrics.paymentsTotal.inc({ method: 'bank_transfer', status, failure_code: failureCode }));
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
