import { sql } from 'kysely';
import type { Db } from '../../platform/db.js';

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = { maxFailures: 5, windowMs: 5 * 60_000, lockMs: 60_000 };

/**
 * Throttling is per (client id, source address): client ids are not secret, so a lock keyed on the id alone would
 * let anyone keep any client — platform-admin included — from getting tokens. The source is the address the
 * trusted proxy reports (TRUST_PROXY_HOPS), never the client-supplied end of X-Forwarded-For.
 */

/** Seconds until this client id may try again from this source, or 0. Shared by every API replica (PostgreSQL). */
export async function lockedForSeconds(db: Db, clientId: string, source: string, now = new Date()): Promise<number> {
  const row = await db.selectFrom('client_auth_failures').select('locked_until').where('client_id', '=', clientId).where('source', '=', source).executeTakeFirst();
  if (!row?.locked_until || row.locked_until <= now) return 0;
  return Math.ceil((row.locked_until.getTime() - now.getTime()) / 1000);
}

/** Counts a failed authentication for a client id; after `maxFailures` in the window, locks it for `lockMs`. */
export async function recordFailure(db: Db, clientId: string, source: string, policy: ThrottlePolicy, now = new Date()): Promise<void> {
  const windowStart = new Date(now.getTime() - policy.windowMs);
  const lockUntil = new Date(now.getTime() + policy.lockMs);
  await sql`
    insert into client_auth_failures as f (client_id, source, failures, window_start, locked_until)
    values (${clientId}, ${source}, 1, ${now}, null)
    on conflict (client_id, source) do update set
      failures = case when f.window_start < ${windowStart} then 1 else f.failures + 1 end,
      window_start = case when f.window_start < ${windowStart} then ${now} else f.window_start end,
      locked_until = case when f.window_start >= ${windowStart} and f.failures + 1 >= ${policy.maxFailures}
                          then ${lockUntil}::timestamptz else f.locked_until end`.execute(db);
}

export async function clearFailures(db: Db, clientId: string, source: string): Promise<void> {
  await db.deleteFrom('client_auth_failures').where('client_id', '=', clientId).where('source', '=', source).execute();
}
