import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import type {
  AttemptOperation, PaymentAttemptsTable, PaymentStatus, PaymentTransitionsTable, PaymentsTable, BankRailStatus, RefundsTable,
} from '../../platform/db-schema.js';
import { newId } from '../../platform/ids.js';
import { pageWindow } from '../../platform/pagination.js';
import type { ListPaymentsFilter } from './payments.schema.js';

// All SQL of payments, attempts, transitions and refunds but the card payment's two statements
// (card-payment-statements.repository.ts). Tenant id is the first domain argument everywhere.

/** A payments row as the database returns it, before toPaymentRow has checked what its method guarantees. */
export type StoredPaymentRow = Selectable<PaymentsTable>;
type CardColumns = 'card_brand' | 'card_last4' | 'card_exp_month' | 'card_exp_year' | 'card_fingerprint';
type BankColumns = 'bank_account_holder' | 'bank_routing_number' | 'bank_account_last4' | 'bank_account_type' | 'bank_fingerprint' | 'rail_status';
type Present<K extends keyof StoredPaymentRow> = { [P in K]: NonNullable<StoredPaymentRow[P]> };
/** A card payment: its card columns are set and it has no rail status. */
export type CardPaymentRow = Omit<StoredPaymentRow, 'method' | CardColumns | 'rail_status'> & Present<CardColumns> & { method: 'card'; rail_status: null };
/** A bank transfer: its (masked) account columns and its rail status are set. */
export type BankTransferPaymentRow = Omit<StoredPaymentRow, 'method' | BankColumns> & Present<BankColumns> & { method: 'bank_transfer' };
export type PaymentRow = CardPaymentRow | BankTransferPaymentRow;

/**
 * The one place a payments row becomes a PaymentRow: the per-method CHECK constraints on payments
 * (migrations/0003_payments.sql) guarantee these columns, and a row that breaks them is an internal error here
 * rather than a null deep inside a mapper.
 */
export function toPaymentRow(row: StoredPaymentRow): PaymentRow {
  if (row.method === 'card') {
    const { card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint, rail_status } = row;
    if (card_brand !== null && card_last4 !== null && card_exp_month !== null && card_exp_year !== null && card_fingerprint !== null && rail_status === null) {
      return { ...row, method: 'card', card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint, rail_status };
    }
  } else {
    const { bank_account_holder, bank_routing_number, bank_account_last4, bank_account_type, bank_fingerprint, rail_status } = row;
    if (bank_account_holder !== null && bank_routing_number !== null && bank_account_last4 !== null && bank_account_type !== null && bank_fingerprint !== null && rail_status !== null) {
      return { ...row, method: 'bank_transfer', bank_account_holder, bank_routing_number, bank_account_last4, bank_account_type, bank_fingerprint, rail_status };
    }
  }
  throw new Error(`payment ${row.id} lacks the ${row.method} columns its method requires (the payments CHECK constraints guarantee them)`);
}

/** For the bank rail's claims, whose queries select bank transfers only. */
export function toBankTransferPaymentRow(row: StoredPaymentRow): BankTransferPaymentRow {
  const payment = toPaymentRow(row);
  if (payment.method !== 'bank_transfer') throw new Error(`payment ${row.id} is not a bank transfer`);
  return payment;
}

const toPaymentRowIfFound = (row: StoredPaymentRow | undefined): PaymentRow | undefined => (row === undefined ? undefined : toPaymentRow(row));
export type AttemptRow = Selectable<PaymentAttemptsTable>;
export type RefundRow = Selectable<RefundsTable>;
export type TransitionRow = Selectable<PaymentTransitionsTable>;

export async function insertPayment(tx: Tx, tenantId: string, row: Omit<Insertable<PaymentsTable>, 'tenant_id'>): Promise<PaymentRow> {
  return toPaymentRow(await tx.insertInto('payments').values({ ...row, tenant_id: tenantId }).returningAll().executeTakeFirstOrThrow());
}

export async function findPayment(q: Queryable, tenantId: string, id: string): Promise<PaymentRow | undefined> {
  return toPaymentRowIfFound(await q.selectFrom('payments').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst());
}

export async function findPaymentByIdempotencyKey(q: Queryable, tenantId: string, key: string): Promise<PaymentRow | undefined> {
  return toPaymentRowIfFound(await q.selectFrom('payments').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', '=', key).executeTakeFirst());
}

/** Row lock: every money-moving decision on a payment is taken while holding it. */
export async function lockPaymentForUpdate(tx: Tx, tenantId: string, id: string): Promise<PaymentRow | undefined> {
  return toPaymentRowIfFound(await tx.selectFrom('payments').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst());
}

/**
 * Guarded update: applies only if the payment is still in `expectedStatus`, so two writers racing on one payment
 * cannot both move it (the DB trigger refuses illegal edges as a second net).
 */
export async function updatePayment(
  tx: Tx,
  tenantId: string,
  id: string,
  expectedStatus: PaymentStatus,
  patch: Updateable<PaymentsTable>,
): Promise<PaymentRow | undefined> {
  return toPaymentRowIfFound(await tx
    .updateTable('payments')
    .set(patch)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('status', '=', expectedStatus)
    .returningAll()
    .executeTakeFirst());
}

export async function listPayments(q: Queryable, tenantId: string, filter: ListPaymentsFilter): Promise<PaymentRow[]> {
  const w = pageWindow(filter);
  const { cursor } = w;
  const { status, customer_reference: customerReference, 'created[gte]': createdGte, 'created[lte]': createdLte } = filter;
  const rows = await q
    .selectFrom('payments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, cursor)))
    .$call((qb) => (status === undefined ? qb : qb.where('status', '=', status)))
    .$call((qb) => (customerReference === undefined ? qb : qb.where('customer_reference', '=', customerReference)))
    .$call((qb) => (createdGte === undefined ? qb : qb.where('created_at', '>=', new Date(createdGte * 1000))))
    .$call((qb) => (createdLte === undefined ? qb : qb.where('created_at', '<', new Date((createdLte + 1) * 1000))))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
  return rows.map(toPaymentRow);
}

export async function insertTransition(
  tx: Tx,
  tenantId: string,
  row: { payment_id: string; from_status: PaymentStatus | null; to_status: PaymentStatus; rail_status?: BankRailStatus | null; reason: string },
): Promise<void> {
  await tx
    .insertInto('payment_transitions')
    .values({ id: newId('transition'), tenant_id: tenantId, rail_status: null, ...row })
    .execute();
}

export async function listTransitions(q: Queryable, tenantId: string, paymentId: string): Promise<TransitionRow[]> {
  return q.selectFrom('payment_transitions').selectAll().where('tenant_id', '=', tenantId).where('payment_id', '=', paymentId).orderBy('created_at').orderBy('id').execute();
}

export async function insertAttempt(
  tx: Tx,
  tenantId: string,
  row: { id?: string; payment_id: string; refund_id?: string | null; operation: AttemptOperation; amount: bigint; reconcileAfterMs: number },
): Promise<AttemptRow> {
  const { reconcileAfterMs, ...values } = row;
  return tx
    .insertInto('payment_attempts')
    .values({
      id: row.id ?? newId('attempt'),
      ...values,
      tenant_id: tenantId,
      status: 'pending',
      next_reconcile_at: sql<Date>`now() + ${`${reconcileAfterMs} milliseconds`}::interval`,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Attempts still waiting for an outcome on this payment (a capture or void in flight blocks another). */
export async function findOpenAttempt(tx: Tx, tenantId: string, paymentId: string, operations: AttemptOperation[]): Promise<AttemptRow | undefined> {
  return tx
    .selectFrom('payment_attempts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .where('operation', 'in', operations)
    .where('status', 'in', ['pending', 'unknown'])
    .executeTakeFirst();
}

/**
 * Settles an attempt exactly once: only a `pending`/`unknown` attempt can complete, so the API path and the
 * reconciler racing on one attempt cannot both apply its outcome. Returns undefined when someone else did.
 */
export async function completeAttempt(
  tx: Tx,
  tenantId: string,
  attemptId: string,
  patch: { status: 'succeeded' | 'failed'; processor_reference?: string | null; failure_code?: string | null; failure_message?: string | null; latency_ms?: number | null },
): Promise<AttemptRow | undefined> {
  return tx
    .updateTable('payment_attempts')
    .set({ ...patch, completed_at: sql`now()`, next_reconcile_at: null })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', attemptId)
    .where('status', 'in', ['pending', 'unknown'])
    .returningAll()
    .executeTakeFirst();
}

/** The outcome is unknown: keep the attempt open and ask the processor again after `delayMs`. */
export async function markAttemptUnknown(tx: Tx, tenantId: string, attemptId: string, delayMs: number, detail: { failure_message: string; latency_ms?: number | null }): Promise<void> {
  await tx
    .updateTable('payment_attempts')
    .set({ status: 'unknown', failure_message: detail.failure_message, latency_ms: detail.latency_ms ?? null, next_reconcile_at: sql`now() + ${`${delayMs} milliseconds`}::interval` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', attemptId)
    .where('status', 'in', ['pending', 'unknown'])
    .execute();
}

export async function listAttempts(q: Queryable, tenantId: string, paymentId: string): Promise<AttemptRow[]> {
  return q.selectFrom('payment_attempts').selectAll().where('tenant_id', '=', tenantId).where('payment_id', '=', paymentId).orderBy('created_at').orderBy('id').execute();
}

export async function findAttempt(q: Queryable, tenantId: string, attemptId: string): Promise<AttemptRow | undefined> {
  return q.selectFrom('payment_attempts').selectAll().where('tenant_id', '=', tenantId).where('id', '=', attemptId).executeTakeFirst();
}

/**
 * Reconciler claim (cross-tenant): due open attempts, oldest first, skipping rows another worker holds; each claimed
 * attempt's next check is pushed out by its backoff step at once, which is the lease.
 */
export async function claimDueAttempts(tx: Tx, limit: number, intervalsMs: readonly number[]): Promise<AttemptRow[]> {
  const intervals = `{${intervalsMs.join(',')}}`;
  const res = await sql<AttemptRow>`
    UPDATE payment_attempts a
    SET reconcile_count = a.reconcile_count + 1,
        next_reconcile_at = now() + make_interval(secs => (
          (${intervals}::int[])[least(a.reconcile_count + 1, ${intervalsMs.length})] / 1000.0))
    WHERE a.id IN (
      SELECT id FROM payment_attempts
      WHERE status IN ('pending', 'unknown') AND next_reconcile_at <= now()
      ORDER BY next_reconcile_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING a.*`.execute(tx);
  return res.rows;
}

export async function countProcessing(q: Queryable): Promise<Array<{ method: string; count: number; oldest_age_seconds: number }>> {
  const res = await sql<{ method: string; count: number; oldest_age_seconds: number }>`
    SELECT method, count(*)::int AS count, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
    FROM payments WHERE status = 'processing' GROUP BY method`.execute(q);
  return res.rows;
}

// ---- refunds -------------------------------------------------------------------------------------------------

export async function insertRefund(tx: Tx, tenantId: string, row: Omit<Insertable<RefundsTable>, 'tenant_id' | 'status'>): Promise<RefundRow> {
  return tx.insertInto('refunds').values({ ...row, tenant_id: tenantId, status: 'pending' }).returningAll().executeTakeFirstOrThrow();
}

export async function findRefund(q: Queryable, tenantId: string, id: string): Promise<RefundRow | undefined> {
  return q.selectFrom('refunds').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export async function findRefundByIdempotencyKey(q: Queryable, tenantId: string, key: string): Promise<RefundRow | undefined> {
  return q.selectFrom('refunds').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', '=', key).executeTakeFirst();
}

export async function completeRefund(
  tx: Tx,
  tenantId: string,
  id: string,
  patch: { status: 'succeeded' | 'failed'; processor_reference?: string | null; failure_code?: string | null; failure_message?: string | null },
): Promise<RefundRow | undefined> {
  return tx.updateTable('refunds').set(patch).where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'pending').returningAll().executeTakeFirst();
}

export async function listRefunds(q: Queryable, tenantId: string, paymentId: string, page: { limit: number; starting_after?: string | undefined; ending_before?: string | undefined }): Promise<RefundRow[]> {
  const w = pageWindow(page);
  const { cursor } = w;
  return q
    .selectFrom('refunds')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, cursor)))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}

/** Moves the refund reservation on the payment (positive when a refund is created, negative when it fails). */
export async function adjustAmountRefunded(tx: Tx, tenantId: string, paymentId: string, deltaMinor: bigint): Promise<PaymentRow> {
  return toPaymentRow(await tx
    .updateTable('payments')
    .set({ amount_refunded: sql`amount_refunded + ${deltaMinor.toString()}::bigint` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', paymentId)
    .returningAll()
    .executeTakeFirstOrThrow());
}

/**
 * Support's "reconcile now": the payment's open attempts become due at once (the reconciler claims them on its next
 * round). Returns the attempts as they were and as they are now.
 */
export async function scheduleReconcileNow(
  tx: Tx,
  tenantId: string,
  paymentId: string,
): Promise<{ before: Array<Pick<AttemptRow, 'id' | 'status' | 'next_reconcile_at'>>; after: Array<Pick<AttemptRow, 'id' | 'status' | 'next_reconcile_at'>> }> {
  const before = await tx
    .selectFrom('payment_attempts')
    .select(['id', 'status', 'next_reconcile_at'])
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .where('status', 'in', ['pending', 'unknown'])
    .orderBy('id')
    .forUpdate()
    .execute();
  const after = before.length === 0 ? [] : await tx
    .updateTable('payment_attempts')
    .set({ next_reconcile_at: sql`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', before.map((a) => a.id))
    .returning(['id', 'status', 'next_reconcile_at'])
    .execute();
  return { before, after: after.sort((a, b) => a.id.localeCompare(b.id)) };
}
