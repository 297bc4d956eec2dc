import { sql } from 'kysely';
import { prepared, withCrossTenantTx, type Db, type Queryable, type Tx } from './db.js';

// The idempotency_keys table (the Idempotency-Key layer is http/idempotency.ts). Claiming and releasing a key are
// SQL functions (migrations/0010_payment_statements.sql), so that a function creating a payment can claim the key
// in the same statement.

/** The arguments of `claim_idempotency_key` after the tenant (see migrations/0010_payment_statements.sql). */
export interface ClaimRequest {
  key: string;
  method: string;
  path: string;
  requestHash: string;
  leaseMs: number;
}

export type ClaimOutcome = 'claimed' | 'taken_over' | 'mismatch' | 'replay' | 'in_flight' | 'expired';

/** The columns `claim_idempotency_key` returns (functions that call it return them too). */
export interface ClaimRow {
  outcome: ClaimOutcome;
  response_status: number | null;
  response_body: unknown;
  bound_object: string | null;
  bound_id: string | null;
  bound_payment_id: string | null;
  bound_created_at: Date | null;
}

/** One round trip: the claim (claim_idempotency_key) in its own statement, or in the caller's transaction. */
export async function claimIdempotencyKey(q: Queryable, tenantId: string, c: ClaimRequest): Promise<ClaimRow> {
  const res = await sql<ClaimRow>`
    ${sql.raw(prepared('claim_idempotency_key'))} SELECT * FROM claim_idempotency_key(${tenantId}, ${c.key}, ${c.method}, ${c.path}, ${c.requestHash}, ${c.leaseMs}::int)`.execute(q);
  const row = res.rows[0];
  if (!row) throw new Error('claim_idempotency_key returned no row');
  return row;
}

/** Stores the answer to replay (`body` already JSON-safe) and ends the key's lease. */
export async function completeIdempotencyKey(tx: Tx, tenantId: string, key: string, answer: { status: number; body: unknown }): Promise<void> {
  await tx
    .updateTable('idempotency_keys')
    .set({ state: 'completed', response_status: answer.status, response_body: JSON.stringify(answer.body), completed_at: sql`now()`, locked_until: null })
    .where('tenant_id', '=', tenantId)
    .where('key', '=', key)
    .execute();
}

/**
 * After a 5xx: if the request created its object before failing (e.g. its last transaction failed after the processor
 * call), the record stays with its lease ended, so the same request resumes that object at once and another one
 * gets 422 (deleting it would make the retry look like a reuse after expiry). Otherwise nothing was done: the key
 * is free for any request. One statement (release_idempotency_key).
 */
export async function releaseIdempotencyKey(db: Db, tenantId: string, key: string): Promise<void> {
  await sql`SELECT release_idempotency_key(${tenantId}, ${key})`.execute(db);
}

/**
 * Worker job body: forget keys older than the retention (at least 24 h). Returns how many were purged. `now` is the
 * job's clock (injectable, so expiry is testable without waiting a day).
 */
export async function purgeIdempotencyKeys(db: Db, olderThanHours: number, now: Date = new Date(), batch = 1000): Promise<number> {
  const cutoff = new Date(now.getTime() - olderThanHours * 3_600_000);
  return withCrossTenantTx(db, async (tx) => {
    const res = await sql`
      DELETE FROM idempotency_keys WHERE ctid IN (
        SELECT ctid FROM idempotency_keys
        WHERE created_at < ${cutoff} AND (state = 'completed' OR locked_until <= ${now})
        LIMIT ${batch})`.execute(tx);
    return Number(res.numAffectedRows ?? 0n);
  });
}
