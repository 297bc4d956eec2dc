import { sql } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import type { PaymentAttentionReason } from '../../platform/db-schema.js';
import { toBankTransferPaymentRow, type AttemptRow, type BankTransferPaymentRow, type StoredPaymentRow } from './payments.repository.js';

// SQL of the bank rail: the submission queue, the poll schedule and inbound processor notifications. The claims are
// the worker's cross-tenant path (each returned row carries its tenant_id, which every later query filters by);
// everything else takes the tenant id first, as in payments.repository.ts.

/**
 * Claims bank transfers still waiting for submission (rail `pending`, created at least `submitDelayMs` ago, no
 * debit attempt open or failed within `retryAfterMs`) and opens their `bank_debit` attempt in the same transaction. The payment row lock is the
 * one `cancelPayment` takes: a cancel that commits first removes the transfer from this query, and a cancel that
 * comes after sees the open attempt and is refused. SKIP LOCKED lets any number of workers share the queue.
 */
export async function claimTransfersToSubmit(
  tx: Tx,
  options: { limit: number; submitDelayMs: number; retryAfterMs: number; reconcileAfterMs: number; newAttemptId: () => string },
): Promise<Array<{ payment: BankTransferPaymentRow; attempt: AttemptRow }>> {
  const due = await sql<StoredPaymentRow>`
    SELECT p.* FROM payments p
    WHERE p.rail_status = 'pending' AND p.status = 'processing'
      AND p.created_at <= now() - make_interval(secs => ${options.submitDelayMs / 1000}::float8)
      AND NOT EXISTS (
        SELECT 1 FROM payment_attempts a
        WHERE a.tenant_id = p.tenant_id AND a.payment_id = p.id AND a.operation = 'bank_debit'
          AND (a.status IN ('pending', 'unknown')
               -- a submission that failed without reaching the rail is retried, but not in a tight loop
               OR a.completed_at > now() - make_interval(secs => ${options.retryAfterMs / 1000}::float8)))
    ORDER BY p.created_at
    LIMIT ${options.limit}
    FOR UPDATE OF p SKIP LOCKED`.execute(tx);
  const claimed: Array<{ payment: BankTransferPaymentRow; attempt: AttemptRow }> = [];
  for (const payment of due.rows.map(toBankTransferPaymentRow)) {
    const attempt = await tx
      .insertInto('payment_attempts')
      .values({
        id: options.newAttemptId(),
        tenant_id: payment.tenant_id,
        payment_id: payment.id,
        operation: 'bank_debit',
        amount: payment.amount,
        status: 'pending',
        // The reconciler looks at the attempt only once the submission call can no longer be in flight.
        next_reconcile_at: sql<Date>`now() + ${`${options.reconcileAfterMs} milliseconds`}::interval`,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    claimed.push({ payment, attempt });
  }
  return claimed;
}

/**
 * Claims transfers whose rail poll is due and pushes their next poll out by `leaseMs` at once (the lease: another
 * worker does not poll the same transfer meanwhile; a worker that dies simply lets the lease run out).
 */
export async function claimDueRailPolls(tx: Tx, limit: number, leaseMs: number): Promise<BankTransferPaymentRow[]> {
  const res = await sql<StoredPaymentRow>`
    UPDATE payments p
    SET rail_next_poll_at = now() + ${`${leaseMs} milliseconds`}::interval
    WHERE p.id IN (
      SELECT id FROM payments
      WHERE rail_next_poll_at IS NOT NULL AND rail_next_poll_at <= now()
      ORDER BY rail_next_poll_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING p.*`.execute(tx);
  return res.rows.map(toBankTransferPaymentRow);
}

export async function setRailNextPollAt(tx: Tx, tenantId: string, paymentId: string, at: Date | null): Promise<void> {
  await tx.updateTable('payments').set({ rail_next_poll_at: at }).where('tenant_id', '=', tenantId).where('id', '=', paymentId).execute();
}

/**
 * The rail does not know a debit it accepted, past the grace window: the payment is flagged and its next poll
 * backed off. Only the attention bookkeeping and the poll schedule change, never the status.
 */
export async function flagLostDebit(
  tx: Tx,
  tenantId: string,
  paymentId: string,
  patch: { attentionSince: Date; backoffStep: number; nextPollAt: Date },
): Promise<void> {
  await tx
    .updateTable('payments')
    .set({
      attention_reason: 'processor_lost_debit',
      attention_since: patch.attentionSince,
      rail_poll_backoff_step: patch.backoffStep,
      rail_next_poll_at: patch.nextPollAt,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', paymentId)
    .execute();
}

/** The rail knows the debit again: the lost-debit flag and its backoff go (the poll schedule is the caller's). */
export async function clearLostDebitAttention(tx: Tx, tenantId: string, paymentId: string): Promise<void> {
  await tx
    .updateTable('payments')
    .set({ attention_reason: null, attention_since: null, rail_poll_backoff_step: 0 })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', paymentId)
    .where('attention_reason', '=', 'processor_lost_debit')
    .execute();
}

/** Payments needing attention across tenants, by reason (the worker's gauge; cross-tenant). */
export async function countNeedingAttention(q: Queryable): Promise<Array<{ reason: PaymentAttentionReason; count: number }>> {
  const res = await sql<{ reason: PaymentAttentionReason; count: number }>`
    SELECT attention_reason AS reason, count(*)::int AS count
    FROM payments WHERE attention_reason IS NOT NULL GROUP BY attention_reason`.execute(q);
  return res.rows;
}

/**
 * The payment a rail notification is about, found across tenants: by the debit attempt whose id we sent as the
 * processor's idempotency key (known before the submission is recorded), else by the debit reference.
 */
export async function findBankDebitTarget(
  q: Queryable,
  ref: { idempotencyKey: string | undefined; debitReference: string },
): Promise<{ tenantId: string; paymentId: string } | undefined> {
  if (ref.idempotencyKey !== undefined) {
    const attempt = await q
      .selectFrom('payment_attempts')
      .select(['tenant_id', 'payment_id'])
      .where('id', '=', ref.idempotencyKey)
      .where('operation', '=', 'bank_debit')
      .executeTakeFirst();
    if (attempt) return { tenantId: attempt.tenant_id, paymentId: attempt.payment_id };
  }
  const payment = await q
    .selectFrom('payments')
    .select(['tenant_id', 'id'])
    .where('method', '=', 'bank_transfer')
    .where('rail_reference', '=', ref.debitReference)
    .executeTakeFirst();
  return payment ? { tenantId: payment.tenant_id, paymentId: payment.id } : undefined;
}

/** True when this notification id was new (and is now recorded); false for a redelivery. */
export async function recordProcessorNotification(
  tx: Tx,
  row: { processor: string; id: string; type: string; payload: Record<string, unknown> },
): Promise<boolean> {
  const inserted = await tx
    .insertInto('processor_notifications')
    .values({ processor: row.processor, id: row.id, type: row.type, payload: JSON.stringify(row.payload) })
    .onConflict((oc) => oc.columns(['processor', 'id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}
