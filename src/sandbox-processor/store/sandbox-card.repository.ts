import { sql, type Selectable } from 'kysely';
import type { AuthorizationsTable, SandboxDb, SandboxQueryable, SandboxTx } from './sandbox-db.js';
import { keyLockQuery } from './sandbox-operations.repository.js';
import type { SandboxCardBrand } from '../sandbox-cards.js';
import type { AuthorizationRecord, OperationRecord, RefundRecord } from '../sandbox-records.js';

function toAuthorizationRecord(row: Selectable<AuthorizationsTable>): AuthorizationRecord {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    ...(row.decline_code !== null ? { declineCode: row.decline_code, declineMessage: row.decline_message ?? '' } : {}),
    amount: row.amount,
    currency: row.currency,
    capturedAmount: row.captured_amount,
    refundedAmount: row.refunded_amount,
    voided: row.voided,
    refundsDeclined: row.refunds_declined,
    brand: row.brand as SandboxCardBrand,
    last4: row.last4,
    createdAtMs: row.created_at.getTime(),
  };
}

/**
 * Records a new authorization and its answer under its idempotency key in one statement, one round trip (an
 * authorization is decided from the request alone, so nothing needs reading first), unless the key is already
 * recorded: then nothing is written and the answer is false. The statement takes the key's lock first, as the
 * operations run in a transaction do, so a capture, void or refund under the same key still queues behind it and
 * finds its record; ON CONFLICT covers the record committed while this statement waited on that lock (its
 * snapshot is older than the lock).
 */
export async function insertAuthorizationOnce(db: SandboxDb, operation: OperationRecord, auth: AuthorizationRecord): Promise<boolean> {
  const result = await sql<{ recorded: number }>`
    WITH recorded AS (
      INSERT INTO sandbox_processor.operations (idempotency_key, operation, fingerprint, status_code, body, created_at)
      SELECT ${operation.idempotencyKey}::text, ${operation.operation}::text, ${operation.fingerprint}::text, ${operation.statusCode}::int4,
             ${JSON.stringify(operation.body)}::json, ${new Date(operation.createdAtMs)}::timestamptz
      FROM (${keyLockQuery(operation.idempotencyKey)}) AS key_lock
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING idempotency_key
    ), created AS (
      INSERT INTO sandbox_processor.authorizations (id, idempotency_key, status, decline_code, decline_message, amount, currency,
        captured_amount, refunded_amount, voided, refunds_declined, brand, last4, created_at)
      SELECT ${auth.id}::text, ${auth.idempotencyKey}::text, ${auth.status}::text, ${auth.declineCode ?? null}::text,
             ${auth.declineMessage ?? null}::text, ${auth.amount}::int8, ${auth.currency}::text, ${auth.capturedAmount}::int8,
             ${auth.refundedAmount}::int8, ${auth.voided}::bool, ${auth.refundsDeclined}::bool, ${auth.brand}::text, ${auth.last4}::text,
             ${new Date(auth.createdAtMs)}::timestamptz
      FROM recorded
    )
    SELECT count(*)::int4 AS recorded FROM recorded`.execute(db);
  // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- an aggregate without GROUP BY returns one row
  return result.rows[0]!.recorded === 1;
}

export async function findAuthorization(q: SandboxQueryable, id: string): Promise<AuthorizationRecord | undefined> {
  const row = await q.selectFrom('authorizations').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toAuthorizationRecord(row) : undefined;
}

/** Captures, voids and refunds of one authorization queue here, so their checks see each other's effects. */
export async function lockAuthorization(tx: SandboxTx, id: string): Promise<AuthorizationRecord | undefined> {
  const row = await tx.selectFrom('authorizations').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  return row ? toAuthorizationRecord(row) : undefined;
}

/** Writes the mutable amounts of an authorization locked with `lockAuthorization`. */
export async function saveAuthorizationState(tx: SandboxTx, auth: AuthorizationRecord): Promise<void> {
  await tx
    .updateTable('authorizations')
    .set({ captured_amount: auth.capturedAmount, refunded_amount: auth.refundedAmount, voided: auth.voided })
    .where('id', '=', auth.id)
    .execute();
}

export async function insertRefund(tx: SandboxTx, refund: RefundRecord): Promise<void> {
  await tx
    .insertInto('refunds')
    .values({
      id: refund.id,
      authorization_id: refund.authorizationId,
      status: refund.status,
      decline_code: refund.declineCode ?? null,
      decline_message: refund.declineMessage ?? null,
      amount: refund.amount,
      currency: refund.currency,
      created_at: new Date(refund.createdAtMs),
    })
    .execute();
}
