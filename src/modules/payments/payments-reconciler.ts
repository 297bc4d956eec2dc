import { withCrossTenantTx, withTenantTx } from '../../platform/db.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import type {
  BankCreditOutcome, OperationLookup, OperationStatusResult, RecordedOperation, RefundOutcome,
} from '../processors/index.js';
import * as repo from './payments.repository.js';
import * as bankRepo from './bank-transfers.repository.js';
import { PAYMENT_ATTENTION_REASONS } from '../../platform/db-schema.js';
import { applyCardOutcome, applyRefundOutcome, warnLookupUnavailable, type CardOutcome, type NotRecorded } from './payment-outcomes.js';
import { outcomeContext, type PaymentsDeps } from './payment-operations.js';
import { resolveBankDebitAttempt } from './bank-transfers.service.js';
import type { BankRailSettings } from './bank-rail.service.js';

/**
 * The janitor (Kill Bill's, done right): every attempt whose outcome we do not know — a timeout, a lost answer, or a
 * process that died between transaction 1 and 2 — is looked up at the processor by its idempotency key on a backoff
 * schedule, and the answer goes through the same outcome functions as the request path.
 * "Not recorded" is only believed once the attempt is older than the longest a request could still be in flight,
 * otherwise a request still travelling to the processor could charge after we declared it failed.
 */
export function reconcileJob(deps: PaymentsDeps & { bank?: BankRailSettings }, options: { batchSize?: number; idleDelayMs: number }): WorkerJob {
  const batchSize = options.batchSize ?? 50;
  let gaugesUpdatedAt = 0;
  return {
    name: 'reconcile-payments',
    idleDelayMs: options.idleDelayMs,
    async runOnce() {
      const due = await withCrossTenantTx(deps.db, (tx) => repo.claimDueAttempts(tx, batchSize, deps.reconcileIntervalsMs));
      for (const attempt of due) {
        await reconcileAttempt(deps, attempt).catch((err: unknown) => {
          deps.logger.error({ err, attempt_id: attempt.id, payment_id: attempt.payment_id, tenant_id: attempt.tenant_id }, 'reconciling an attempt failed; it will be retried');
        });
      }
      if (Date.now() - gaugesUpdatedAt > 5_000) {
        gaugesUpdatedAt = Date.now();
        await updateProcessingGauges(deps);
      }
      return due.length;
    },
  };
}

export async function reconcileAttempt(deps: PaymentsDeps & { bank?: BankRailSettings }, attempt: repo.AttemptRow): Promise<void> {
  // An open bank debit attempt is a submission whose answer we never got; once submitted, the rail jobs follow it.
  if (attempt.operation === 'bank_debit') {
    if (deps.bank) await resolveBankDebitAttempt({ ...deps, bank: deps.bank }, attempt);
    return;
  }
  const log = deps.logger.child({ job: 'reconcile-payments', attempt_id: attempt.id, payment_id: attempt.payment_id, tenant_id: attempt.tenant_id, attempt: attempt.reconcile_count });
  const status: OperationStatusResult = await deps.processor.getOperationStatus(await operationLookup(deps, attempt));
  if (status.kind === 'unavailable') {
    warnLookupUnavailable(log, status);
    return;
  }
  let answer: AttemptAnswer;
  if (status.kind === 'not_found') {
    const ageMs = Date.now() - attempt.created_at.getTime();
    if (ageMs < deps.inFlightMs) return;
    answer = isRefundOperation(attempt.operation)
      ? { appliesTo: 'refund', outcome: { kind: 'not_recorded' } }
      : { appliesTo: 'card', outcome: { kind: 'not_recorded' } };
  } else {
    const matched = answerForAttempt(attempt, status);
    if (matched === undefined) {
      // Applying another operation's answer would move money on a guess: leave the attempt open and say so.
      log.error({ recorded_operation: status.operation, operation: attempt.operation }, 'processor recorded another operation under this attempt; not applied');
      return;
    }
    answer = matched;
  }
  const ctx = outcomeContext(deps);
  const tenantId = attempt.tenant_id;
  if (answer.appliesTo === 'refund') {
    const { outcome } = answer;
    await withTenantTx(deps.db, tenantId, (tx) => applyRefundOutcome(tx, ctx, tenantId, attempt, outcome, attempt.latency_ms));
  } else {
    // the same statement as the request's transaction 2: whoever learns the outcome first applies it
    const payment = await withTenantTx(deps.db, tenantId, (tx) => repo.findPayment(tx, tenantId, attempt.payment_id));
    if (!payment) throw new Error(`attempt ${attempt.id} has no payment`);
    await applyCardOutcome(deps.db, ctx, tenantId, payment, attempt, answer.outcome, attempt.latency_ms);
  }
  log.info({ outcome: answer.outcome.kind, operation: attempt.operation }, 'attempt reconciled');
}

/** A processor answer, typed by the outcome function that applies it. */
type AttemptAnswer =
  | { appliesTo: 'card'; outcome: CardOutcome }
  | { appliesTo: 'refund'; outcome: RefundOutcome | BankCreditOutcome | NotRecorded };

function isRefundOperation(operation: repo.AttemptRow['operation']): boolean {
  return operation === 'refund' || operation === 'bank_credit';
}

/**
 * The processor's recorded answer, but only when it is for the attempt's own operation (a capture's approval is
 * not an authorization's); undefined otherwise. The switch narrows the outcome to that operation's type.
 */
function answerForAttempt(attempt: Pick<repo.AttemptRow, 'operation'>, recorded: RecordedOperation): AttemptAnswer | undefined {
  if (recorded.operation !== attempt.operation) return undefined;
  switch (recorded.operation) {
    case 'authorize':
    case 'capture':
    case 'void':
      return { appliesTo: 'card', outcome: recorded.outcome };
    case 'refund':
    case 'bank_credit':
      return { appliesTo: 'refund', outcome: recorded.outcome };
    case 'bank_debit':
      // an open debit is resolved by resolveBankDebitAttempt and the rail jobs, never from here
      return undefined;
  }
}

/**
 * What the processor needs to find the attempt's operation: its key, and for operations on an existing
 * authorization or debit, that object's reference (the payment's `processor_reference`).
 */
export async function operationLookup(deps: PaymentsDeps, attempt: repo.AttemptRow): Promise<OperationLookup> {
  const lookup: OperationLookup = { idempotencyKey: attempt.id, operation: attempt.operation, createdAt: attempt.created_at };
  if (attempt.operation === 'authorize' || attempt.operation === 'bank_debit') return lookup;
  const payment = await withTenantTx(deps.db, attempt.tenant_id, (tx) => repo.findPayment(tx, attempt.tenant_id, attempt.payment_id));
  return { ...lookup, targetReference: payment?.processor_reference ?? undefined };
}

async function updateProcessingGauges(deps: PaymentsDeps): Promise<void> {
  const [rows, attention] = await withCrossTenantTx(deps.db, async (tx) => [await repo.countProcessing(tx), await bankRepo.countNeedingAttention(tx)] as const);
  for (const method of ['card', 'bank_transfer']) {
    const row = rows.find((r) => r.method === method);
    deps.metrics.paymentsProcessing.set({ method }, row?.count ?? 0);
    deps.metrics.paymentsProcessingOldestAge.set({ method }, row?.oldest_age_seconds ?? 0);
  }
  // Every reason is set, 0 included, so the alert's series exists and goes back to 0 once the flags are cleared.
  for (const reason of PAYMENT_ATTENTION_REASONS) {
    deps.metrics.paymentsNeedingAttention.set({ reason }, attention.find((r) => r.reason === reason)?.count ?? 0);
  }
}
