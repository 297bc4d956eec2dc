import { sql, type RawBuilder } from 'kysely';
import type { SandboxQueryable, SandboxTx } from './sandbox-db.js';
import type { OperationRecord, WireOperation } from '../sandbox-records.js';

/** Namespace of the per-key advisory locks (the two-int4 lock space, apart from the schema lock). */
const IDEMPOTENCY_LOCK_CLASS = 73591;

/**
 * Serializes every request carrying `key` until the transaction ends, across all sandbox replicas: the second of two
 * concurrent requests waits, then finds the first one's recorded answer instead of executing again. A hash collision
 * between two keys only makes them wait for each other.
 */
export async function lockIdempotencyKey(tx: SandboxTx, key: string): Promise<void> {
  await keyLockQuery(key).execute(tx);
}

/** The query that takes `key`'s lock, for statements that take it as their first step (see insertAuthorizationOnce). */
export function keyLockQuery(key: string): RawBuilder<unknown> {
  return sql`SELECT pg_advisory_xact_lock(${IDEMPOTENCY_LOCK_CLASS}::int4, hashtext(${key}))`;
}

export async function findOperation(q: SandboxQueryable, key: string): Promise<OperationRecord | undefined> {
  const row = await q.selectFrom('operations').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  if (!row) return undefined;
  return {
    idempotencyKey: row.idempotency_key,
    operation: row.operation as WireOperation,
    fingerprint: row.fingerprint,
    statusCode: row.status_code,
    body: row.body,
    createdAtMs: row.created_at.getTime(),
  };
}

export async function insertOperation(tx: SandboxTx, record: OperationRecord): Promise<void> {
  await tx
    .insertInto('operations')
    .values({
      idempotency_key: record.idempotencyKey,
      operation: record.operation,
      fingerprint: record.fingerprint,
      status_code: record.statusCode,
      body: JSON.stringify(record.body),
      created_at: new Date(record.createdAtMs),
    })
    .execute();
}

export interface SandboxCounts {
  operations: number;
  authorizations: number;
  refunds: number;
  bank_debits: number;
  bank_credits: number;
}

export async function countRecords(q: SandboxQueryable): Promise<SandboxCounts> {
  const result = await sql<SandboxCounts>`
    SELECT (SELECT count(*) FROM sandbox_processor.operations) AS operations,
           (SELECT count(*) FROM sandbox_processor.authorizations) AS authorizations,
           (SELECT count(*) FROM sandbox_processor.refunds) AS refunds,
           (SELECT count(*) FROM sandbox_processor.bank_debits) AS bank_debits,
           (SELECT count(*) FROM sandbox_processor.bank_credits) AS bank_credits`.execute(q);
  // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- an aggregate without GROUP BY returns one row
  return result.rows[0]!;
}
