import type { Selectable } from 'kysely';
import type { AuthorizationsTable, SandboxQueryable, SandboxTx } from './sandbox-db.js';
import type { SandboxCardBrand } from '../sandbox-cards.js';
import type { AuthorizationRecord, RefundRecord } from '../sandbox-records.js';

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

export async function insertAuthorization(tx: SandboxTx, auth: AuthorizationRecord): Promise<void> {
  await tx
    .insertInto('authorizations')
    .values({
      id: auth.id,
      idempotency_key: auth.idempotencyKey,
      status: auth.status,
      decline_code: auth.declineCode ?? null,
      decline_message: auth.declineMessage ?? null,
      amount: auth.amount,
      currency: auth.currency,
      captured_amount: auth.capturedAmount,
      refunded_amount: auth.refundedAmount,
      voided: auth.voided,
      refunds_declined: auth.refundsDeclined,
      brand: auth.brand,
      last4: auth.last4,
      created_at: new Date(auth.createdAtMs),
    })
    .execute();
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
