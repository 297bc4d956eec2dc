import { sql } from 'kysely';
import type { Db } from '../../platform/db.js';

/** At most `maxFailures` attempts in `windowMs`; the attempt that reaches it locks for `lockMs`. */
export interface FailureLimit {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export interface ThrottlePolicy {
  /** per (client id, address) */
  client: FailureLimit;
  /** per address, whatever the client id */
  address: FailureLimit;
}

export type Reservation =
  | { reserved: true; clientWindow: Date; addressWindow: Date }
  | { reserved: false; by: 'client' | 'address'; lockedUntil: Date | null };

function bounds(limit: FailureLimit, now: Date) {
  return { max: limit.maxFailures, windowStart: new Date(now.getTime() - limit.windowMs), lockUntil: new Date(now.getTime() + limit.lockMs) };
}

/**
 * Reserves one authentication attempt for this address and this client id from it, BEFORE the secret is verified,
 * in one statement: parallel requests queue on the rows' locks, so no more than the limit can ever be verified
 * (counting after verification let 120 parallel guesses through a 5-attempt limit). An address already locked
 * reserves nothing; a client locked from an unlocked address still counts against the address, so hammering a
 * locked client id gets the address locked too. The locks shared by every API replica are these rows.
 */
export async function reserveAttempt(db: Db, clientId: string, source: string, policy: ThrottlePolicy, now: Date): Promise<Reservation> {
  const a = bounds(policy.address, now);
  const c = bounds(policy.client, now);
  const { rows } = await sql<{
    address_window: Date | null; client_window: Date | null; address_locked_until: Date | null; client_locked_until: Date | null;
  }>`
    with address as (
      insert into client_auth_source_failures as s (source, failures, window_start, locked_until)
      values (${source}, 1, ${now}::timestamptz, case when 1 >= ${a.max}::int then ${a.lockUntil}::timestamptz end)
      on conflict (source) do update set
        failures = case when s.window_start < ${a.windowStart}::timestamptz then 1 else s.failures + 1 end,
        window_start = case when s.window_start < ${a.windowStart}::timestamptz then ${now}::timestamptz else s.window_start end,
        locked_until = case when (case when s.window_start < ${a.windowStart}::timestamptz then 1 else s.failures + 1 end) >= ${a.max}::int
                            then ${a.lockUntil}::timestamptz else s.locked_until end
        where s.locked_until is null or s.locked_until <= ${now}::timestamptz
      returning s.window_start
    ), client as (
      insert into client_auth_failures as f (client_id, source, failures, window_start, locked_until)
      select ${clientId}, ${source}, 1, ${now}::timestamptz, case when 1 >= ${c.max}::int then ${c.lockUntil}::timestamptz end
      where exists (select 1 from address)
      on conflict (client_id, source) do update set
        failures = case when f.window_start < ${c.windowStart}::timestamptz then 1 else f.failures + 1 end,
        window_start = case when f.window_start < ${c.windowStart}::timestamptz then ${now}::timestamptz else f.window_start end,
        locked_until = case when (case when f.window_start < ${c.windowStart}::timestamptz then 1 else f.failures + 1 end) >= ${c.max}::int
                            then ${c.lockUntil}::timestamptz else f.locked_until end
        where f.locked_until is null or f.locked_until <= ${now}::timestamptz
      returning f.window_start
    )
    -- the locks below are read from the statement's snapshot: only for Retry-After, never for the decision
    select (select window_start from address) as address_window,
           (select window_start from client) as client_window,
           (select locked_until from client_auth_source_failures where source = ${source}) as address_locked_until,
           (select locked_until from client_auth_failures where client_id = ${clientId} and source = ${source}) as client_locked_until
  `.execute(db);
  const row = rows[0];
  if (!row) throw new Error('the attempt-reservation statement returned no row (a FROM-less select always returns one)');
  if (!row.address_window) return { reserved: false, by: 'address', lockedUntil: row.address_locked_until };
  if (!row.client_window) return { reserved: false, by: 'client', lockedUntil: row.client_locked_until };
  return { reserved: true, clientWindow: row.client_window, addressWindow: row.address_window };
}

/** The address gets one reserved attempt back (if its window is still the one reserved in), and its lock if that attempt set it. */
async function refundAddress(db: Db, source: string, window: Date, limit: FailureLimit): Promise<void> {
  await db
    .updateTable('client_auth_source_failures')
    .set({
      failures: sql<number>`greatest(failures - 1, 0)`,
      locked_until: sql<Date | null>`case when failures - 1 >= ${limit.maxFailures}::int then locked_until end`,
    })
    .where('source', '=', source)
    .where('window_start', '=', window)
    .execute();
}

/** A proven secret: this client's failures from this address are forgotten, and the address gets its attempt back. */
export async function settleSuccess(db: Db, clientId: string, source: string, reservation: Extract<Reservation, { reserved: true }>, policy: ThrottlePolicy): Promise<void> {
  await db.deleteFrom('client_auth_failures').where('client_id', '=', clientId).where('source', '=', source).execute();
  await refundAddress(db, source, reservation.addressWindow, policy.address);
}

/** The secret was never verified (hash work refused, or an error): both get their attempt back. */
export async function refundAttempt(db: Db, clientId: string, source: string, reservation: Extract<Reservation, { reserved: true }>, policy: ThrottlePolicy): Promise<void> {
  await db
    .updateTable('client_auth_failures')
    .set({
      failures: sql<number>`greatest(failures - 1, 0)`,
      locked_until: sql<Date | null>`case when failures - 1 >= ${policy.client.maxFailures}::int then locked_until end`,
    })
    .where('client_id', '=', clientId)
    .where('source', '=', source)
    .where('window_start', '=', reservation.clientWindow)
    .execute();
  await refundAddress(db, source, reservation.addressWindow, policy.address);
}

/**
 * Deletes up to `batch` rows of each table whose window and lock have both passed: such a row says nothing a
 * missing row would not (the next attempt starts a new window either way). Returns how many went.
 */
export async function purgeExpiredFailures(db: Db, policy: ThrottlePolicy, now: Date, batch: number): Promise<number> {
  const clientCutoff = new Date(now.getTime() - policy.client.windowMs);
  const addressCutoff = new Date(now.getTime() - policy.address.windowMs);
  const clients = await db
    .deleteFrom('client_auth_failures')
    .where((eb) => eb(eb.refTuple('client_id', 'source'), 'in',
      eb.selectFrom('client_auth_failures').select(['client_id', 'source'])
        .where('window_start', '<', clientCutoff)
        .where((w) => w.or([w('locked_until', 'is', null), w('locked_until', '<=', now)]))
        .limit(batch)
        .$asTuple('client_id', 'source')))
    .executeTakeFirst();
  const addresses = await db
    .deleteFrom('client_auth_source_failures')
    .where('source', 'in', (eb) =>
      eb.selectFrom('client_auth_source_failures').select('source')
        .where('window_start', '<', addressCutoff)
        .where((w) => w.or([w('locked_until', 'is', null), w('locked_until', '<=', now)]))
        .limit(batch))
    .executeTakeFirst();
  return Number(clients.numDeletedRows) + Number(addresses.numDeletedRows);
}
