import { sql, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import type { SigningKeysTable } from '../../platform/db-schema.js';

export type SigningKeyRow = Selectable<SigningKeysTable>;

// Signing keys are platform data (no tenant): every replica reads the published ones.
export async function listPublishedKeys(q: Queryable): Promise<SigningKeyRow[]> {
  return q.selectFrom('signing_keys').selectAll().where('status', 'in', ['next', 'active', 'retiring']).orderBy('created_at').execute();
}

export async function listAllKeys(q: Queryable): Promise<SigningKeyRow[]> {
  return q.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
}

/** Serializes key maintenance across replicas for the rest of the transaction. */
export async function lockKeyMaintenance(tx: Tx): Promise<void> {
  await sql`select pg_advisory_xact_lock(7359120044002)`.execute(tx);
}

export async function insertKey(tx: Tx, row: {
  kid: string; alg: 'ES256'; public_jwk: Record<string, unknown>; private_key_enc: string;
  status: 'next' | 'active'; activate_after: Date | null; activated_at: Date | null;
}): Promise<void> {
  await tx.insertInto('signing_keys').values({ ...row, public_jwk: JSON.stringify(row.public_jwk) }).execute();
}

export async function markRetiring(tx: Tx, kid: string, now: Date, retireAfter: Date): Promise<void> {
  await tx.updateTable('signing_keys').set({ status: 'retiring', retiring_at: now, retire_after: retireAfter }).where('kid', '=', kid).execute();
}

export async function markActive(tx: Tx, kid: string, now: Date): Promise<void> {
  await tx.updateTable('signing_keys').set({ status: 'active', activated_at: now }).where('kid', '=', kid).execute();
}

/** Retires 'next' keys that never signed (superseded by a newer rotation). */
export async function retireUnusedKeys(tx: Tx, kids: string[], now: Date): Promise<void> {
  if (kids.length === 0) return;
  await tx.updateTable('signing_keys').set({ status: 'retired', retired_at: now }).where('kid', 'in', kids).where('status', '=', 'next').execute();
}

export async function retireExpired(tx: Tx, now: Date): Promise<number> {
  const res = await tx
    .updateTable('signing_keys')
    .set({ status: 'retired', retired_at: now })
    .where('status', '=', 'retiring')
    .where('retire_after', '<=', now)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}
