import { sql, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import type { StaffOidcFlowsTable, StaffSessionsTable, StaffUsersTable } from '../../platform/db-schema.js';
import type { StaffRole } from '../../platform/http/scopes.js';

export type StaffUserRow = Selectable<StaffUsersTable>;
export type StaffSessionRow = Selectable<StaffSessionsTable>;
export type OidcFlowRow = Selectable<StaffOidcFlowsTable>;

// Staff tables carry no tenant and sit outside row-level security; only audit_log needs the cross-tenant transaction.

export async function insertStaffUser(
  tx: Queryable,
  row: {
    id: string; email: string; display_name: string; role: StaffRole; password_hash: string | null; totp_secret_enc: string | null;
    oidc_issuer?: string | null; oidc_subject?: string | null; created_at: Date;
  },
): Promise<StaffUserRow> {
  return tx.insertInto('staff_users').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findStaffUserByEmail(q: Queryable, email: string): Promise<StaffUserRow | undefined> {
  return q.selectFrom('staff_users').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function findStaffUser(q: Queryable, id: string): Promise<StaffUserRow | undefined> {
  return q.selectFrom('staff_users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findStaffUserBySubject(q: Queryable, issuer: string, subject: string): Promise<StaffUserRow | undefined> {
  return q.selectFrom('staff_users').selectAll().where('oidc_issuer', '=', issuer).where('oidc_subject', '=', subject).executeTakeFirst();
}

/** Locks the account row: failure counting, lockout and TOTP step bookkeeping must not race. */
export async function lockStaffUser(tx: Tx, id: string): Promise<StaffUserRow | undefined> {
  return tx.selectFrom('staff_users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function listStaffUsers(q: Queryable, page: { limit: number; starting_after?: string | undefined }): Promise<StaffUserRow[]> {
  const { starting_after: startingAfter } = page;
  return q
    .selectFrom('staff_users')
    .selectAll()
    .$call((qb) => (startingAfter === undefined ? qb : qb.where('id', '<', startingAfter)))
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
}

export async function updateStaffUser(
  tx: Queryable,
  id: string,
  set: Partial<{
    display_name: string; role: StaffRole; status: 'active' | 'disabled'; password_hash: string | null; totp_secret_enc: string | null;
    totp_last_step: bigint | null; failed_logins: number; locked_until: Date | null; last_login_at: Date; email: string;
  }>,
): Promise<StaffUserRow | undefined> {
  return tx.updateTable('staff_users').set(set).where('id', '=', id).returningAll().executeTakeFirst();
}

/** updateStaffUser for an account the caller has already read in this transaction: staff users are never deleted. */
export async function updateExistingStaffUser(tx: Queryable, id: string, set: Parameters<typeof updateStaffUser>[2]): Promise<StaffUserRow> {
  const row = await updateStaffUser(tx, id, set);
  if (row === undefined) throw new Error(`staff user ${id}, read earlier in this transaction, was not found by its update (staff users are never deleted)`);
  return row;
}

export async function insertSession(
  tx: Queryable,
  row: {
    id: string; token_hash: string; staff_id: string; auth_method: 'password' | 'oidc'; created_at: Date; last_seen_at: Date;
    idle_expires_at: Date; absolute_expires_at: Date; source_ip: string | null; user_agent: string | null;
  },
): Promise<StaffSessionRow> {
  return tx.insertInto('staff_sessions').values(row).returningAll().executeTakeFirstOrThrow();
}

/** The session of a cookie with its user, whatever its state: the caller tells expired from revoked from valid. */
export async function findSessionByTokenHash(q: Queryable, tokenHash: string): Promise<{ session: StaffSessionRow; user: StaffUserRow } | undefined> {
  const session = await q.selectFrom('staff_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  if (!session) return undefined;
  const user = await findStaffUser(q, session.staff_id);
  return user ? { session, user } : undefined;
}

/**
 * Slides the idle expiry, at most once a minute per session (the WHERE makes concurrent requests write once),
 * and never past the absolute expiry.
 */
export async function touchSession(q: Queryable, id: string, now: Date, idleExpiresAt: Date): Promise<StaffSessionRow | undefined> {
  return q
    .updateTable('staff_sessions')
    .set({ last_seen_at: now, idle_expires_at: sql<Date>`least(${idleExpiresAt}::timestamptz, absolute_expires_at)` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('last_seen_at', '<=', new Date(now.getTime() - 60_000))
    .returningAll()
    .executeTakeFirst();
}

export async function revokeSession(q: Queryable, id: string, now: Date): Promise<StaffSessionRow | undefined> {
  return q.updateTable('staff_sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).returningAll().executeTakeFirst();
}

export async function revokeUserSessions(q: Queryable, staffId: string, now: Date): Promise<number> {
  const r = await q.updateTable('staff_sessions').set({ revoked_at: now }).where('staff_id', '=', staffId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function insertOidcFlow(q: Queryable, row: { state_hash: string; code_verifier: string; nonce: string; return_to: string; created_at: Date; expires_at: Date }): Promise<void> {
  await q.insertInto('staff_oidc_flows').values(row).execute();
}

/** Takes the flow out: a state is good for one callback, and only before it expires. */
export async function consumeOidcFlow(q: Queryable, stateHash: string, now: Date): Promise<OidcFlowRow | undefined> {
  const row = await q.deleteFrom('staff_oidc_flows').where('state_hash', '=', stateHash).returningAll().executeTakeFirst();
  return row && row.expires_at > now ? row : undefined;
}

/** Worker: sessions dead for more than a day (kept that long so a late request still gets session_expired), and stale SSO flows. */
export async function purgeStaleSessionsAndFlows(q: Queryable, now: Date, batch: number): Promise<number> {
  const dayAgo = new Date(now.getTime() - 86_400_000);
  const sessions = await q
    .deleteFrom('staff_sessions')
    .where('id', 'in', (eb) =>
      eb.selectFrom('staff_sessions').select('id')
        .where((w) => w.or([w('revoked_at', '<', dayAgo), w('idle_expires_at', '<', dayAgo), w('absolute_expires_at', '<', dayAgo)]))
        .limit(batch))
    .executeTakeFirst();
  const flows = await q.deleteFrom('staff_oidc_flows').where('expires_at', '<', now).executeTakeFirst();
  return Number(sessions.numDeletedRows) + Number(flows.numDeletedRows);
}


/** Failed logins of one account since `since` (the lockout's sliding window), from their audit entries. */
export async function countLoginFailures(tx: Tx, staffId: string, since: Date): Promise<number> {
  const r = await tx
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('actor_id', '=', staffId)
    .where('action', '=', 'staff.login_failed')
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
