import { withCrossTenantTx, withTenantTx } from '../../platform/db.js';
import { newId } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import type { BankDebitOutcome } from '../processors/index.js';
import * as repo from './payments.repository.js';
import * as bankRepo from './bank-transfers.repository.js';
import { applyBankDebitDecision, bankRetryDelayMs, failDeclinedSubmission } from './bank-transfers.service.js';
import { convergeBankTransfer, planLostDebitPoll, recordLostDebitStep, snapshotFromDebit, type BankTransfersDeps } from './bank-rail.service.js';
import { elapsedMs } from './payment-operations.js';

// The worker side of bank transfers: submitting transfers once their cancel window has passed, and polling the
// rail so that a lost notification never leaves a transfer stuck. Unknown submission outcomes are resolved by the
// reconciler (payments-reconciler.ts → resolveBankDebitAttempt).

/**
 * Submission: claim (row lock + the debit attempt, one short cross-tenant transaction), call the rail with no
 * transaction open, record the answer in a tenant transaction.
 */
export function submitBankTransfersJob(deps: BankTransfersDeps, options: { batchSize?: number; idleDelayMs: number }): WorkerJob {
  const batchSize = options.batchSize ?? 20;
  return {
    name: 'submit-bank-transfers',
    idleDelayMs: options.idleDelayMs,
    async runOnce() {
      if (deps.processor.circuitState() === 'open') return 0;
      const claimed = await withCrossTenantTx(deps.db, (tx) =>
        bankRepo.claimTransfersToSubmit(tx, {
          limit: batchSize,
          submitDelayMs: deps.bankSubmitDelayMs,
          retryAfterMs: bankRetryDelayMs(deps),
          reconcileAfterMs: deps.inFlightMs,
          newAttemptId: () => newId('attempt'),
        }));
      await Promise.all(claimed.map(({ payment, attempt }) =>
        submitTransfer(deps, payment, attempt).catch((err: unknown) => {
          deps.logger.error({ err, job: 'submit-bank-transfers', payment_id: payment.id, attempt_id: attempt.id, tenant_id: payment.tenant_id }, 'submitting a bank transfer failed; the reconciler will resolve its attempt');
        })));
      return claimed.length;
    },
  };
}

async function submitTransfer(deps: BankTransfersDeps, payment: repo.BankTransferPaymentRow, attempt: repo.AttemptRow): Promise<void> {
  const tenantId = payment.tenant_id;
  const log = deps.logger.child({ job: 'submit-bank-transfers', payment_id: payment.id, attempt_id: attempt.id, tenant_id: tenantId });
  if (payment.bank_account_number_enc === null) throw new Error('a pending bank transfer has no account number');
  const accountNumber = deps.keyRing.decrypt('bank-account-number', payment.bank_account_number_enc);
  const started = process.hrtime.bigint();
  const outcome: BankDebitOutcome = await deps.processor.createBankDebit({
    idempotencyKey: attempt.id,
    amountMinor: payment.amount,
    currency: payment.currency,
    account: {
      accountNumber,
      routingNumber: payment.bank_routing_number,
      accountType: payment.bank_account_type,
      holderName: payment.bank_account_holder,
    },
  });
  const latency = elapsedMs(started);

  switch (outcome.kind) {
    case 'approved':
    case 'declined': {
      const updated = await withTenantTx(deps.db, tenantId, (tx) => applyBankDebitDecision(tx, deps, tenantId, attempt, outcome, 'submission', latency));
      log.info({ outcome: outcome.kind, status: updated.status, rail_status: updated.rail_status }, 'bank transfer submission recorded');
      return;
    }
    case 'unknown':
      // The rail may have the debit: keep the attempt open (cancel stays refused) and the encrypted account number
      // (a resubmission may be needed); the reconciler asks the processor under the attempt id.
      await withTenantTx(deps.db, tenantId, (tx) =>
        repo.markAttemptUnknown(tx, tenantId, attempt.id, bankRetryDelayMs(deps), { failure_message: outcome.message, latency_ms: latency }));
      log.warn({ reason: outcome.reason }, 'bank debit outcome unknown; left for reconciliation');
      return;
    case 'error':
      if (outcome.retryable) {
        // Nothing happened at the rail: close the attempt; the transfer is claimed again after the retry delay.
        await withTenantTx(deps.db, tenantId, (tx) =>
          repo.completeAttempt(tx, tenantId, attempt.id, { status: 'failed', failure_code: outcome.code, failure_message: outcome.message, latency_ms: latency }));
        log.warn({ code: outcome.code, sent: outcome.sent }, 'bank debit not submitted; will retry');
        return;
      }
      // The processor refused the request itself (4xx): retrying cannot help, the payment fails.
      await withTenantTx(deps.db, tenantId, (tx) =>
        failDeclinedSubmission(tx, deps, tenantId, attempt, { code: 'processing_error', message: 'The processor could not process the bank debit.' }, latency));
      log.error({ code: outcome.code, processor_code: outcome.processorCode, http_status: outcome.httpStatus }, 'bank debit refused by the processor');
  }
}

/** Polling: transfers whose rail poll is due are asked about and converged exactly like a notification. */
export function pollBankRailJob(deps: BankTransfersDeps, options: { batchSize?: number; idleDelayMs: number }): WorkerJob {
  const batchSize = options.batchSize ?? 50;
  return {
    name: 'poll-bank-rail',
    idleDelayMs: options.idleDelayMs,
    async runOnce() {
      if (deps.processor.circuitState() === 'open') return 0;
      const due = await withCrossTenantTx(deps.db, (tx) => bankRepo.claimDueRailPolls(tx, batchSize, deps.bank.pollIntervalMs));
      await Promise.all(due.map((payment) =>
        pollTransfer(deps, payment).catch((err: unknown) => {
          deps.logger.error({ err, job: 'poll-bank-rail', payment_id: payment.id, tenant_id: payment.tenant_id }, 'polling a bank transfer failed; it will be polled again');
        })));
      return due.length;
    },
  };
}

async function pollTransfer(deps: BankTransfersDeps, payment: repo.PaymentRow): Promise<void> {
  const tenantId = payment.tenant_id;
  const log = deps.logger.child({ job: 'poll-bank-rail', payment_id: payment.id, tenant_id: tenantId });
  if (payment.rail_reference === null) {
    log.error({ rail_status: payment.rail_status }, 'bank transfer scheduled for polling has no rail reference; polling stopped');
    await withTenantTx(deps.db, tenantId, (tx) => bankRepo.setRailNextPollAt(tx, tenantId, payment.id, null));
    return;
  }
  const result = await deps.processor.getBankDebit(payment.rail_reference);
  if (result.kind === 'unavailable') {
    log.warn({ reason: result.reason }, 'processor unavailable for a rail poll; will poll again');
    return;
  }
  if (result.kind === 'not_found') {
    await recordDebitNotFound(deps, payment, log);
    return;
  }
  const snapshot = snapshotFromDebit(result.debit);
  if (!snapshot) {
    log.error({ status: result.debit.status }, 'the rail reports a submitted debit as declined; ignored');
    return;
  }
  const { moved } = await withTenantTx(deps.db, tenantId, (tx) => convergeBankTransfer(tx, deps, tenantId, payment.id, snapshot, 'poll'));
  if (moved.length > 0) log.info({ moved }, 'rail poll found news a notification did not bring');
}

/**
 * The rail answered "not found" for a debit it accepted. Nothing about the money follows from that, so the status
 * stays; within the grace window the transfer is polled as usual, after it the payment is flagged as needing
 * attention and each further poll waits twice as long (one warning per step), until the rail knows the debit again
 * (convergeBankTransfer then clears the flag).
 */
async function recordDebitNotFound(deps: BankTransfersDeps, payment: repo.PaymentRow, log: Logger): Promise<void> {
  deps.metrics.processorNotFound.inc({ operation: 'get_bank_debit' });
  const now = (deps.now ?? (() => new Date()))();
  const plan = planLostDebitPoll(payment, deps.bank, now);
  if (plan.kind === 'within_grace') {
    log.debug({ rail_reference: payment.rail_reference, grace_ends_at: plan.graceEndsAt.toISOString() }, 'the rail does not know this debit yet; polling on within the grace window');
    return;
  }
  const tenantId = payment.tenant_id;
  const recorded = await withTenantTx(deps.db, tenantId, (tx) => recordLostDebitStep(tx, tenantId, payment, plan, now));
  if (!recorded) {
    log.debug({ rail_reference: payment.rail_reference }, 'the transfer moved while the rail was asked; its "not found" answer is stale');
    return;
  }
  log.warn(
    {
      rail_reference: payment.rail_reference,
      attention_reason: 'processor_lost_debit',
      attention_since: recorded.attentionSince.toISOString(),
      backoff_step: plan.step,
      next_poll_at: plan.nextPollAt.toISOString(),
    },
    `the rail does not know a debit it accepted: payment needs attention, status unchanged; backoff step ${plan.step}, next poll at ${plan.nextPollAt.toISOString()}`,
  );
}
