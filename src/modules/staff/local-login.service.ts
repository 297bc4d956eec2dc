import { withCrossTenantTx } from '../../platform/db.js';
import { recordAudit } from '../../platform/audit-log.repository.js';
import { DUMMY_SECRET_HASH, verifySecret } from '../../platform/crypto.js';
import { AppError } from '../../platform/errors.js';
import { createWorkLimit, WorkLimitBusyError } from '../../platform/work-limit.js';
import * as repo from './staff.repository.js';
import { openSession, type LiveSession, type RequestMeta, type StaffDeps } from './staff-sessions.js';
import type { LoginInput } from './staff.schema.js';
import { matchTotpStep } from './totp.js';

export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60_000;

// One answer for unknown email, wrong password, wrong or replayed code and disabled account: it tells nothing.
const invalidCredentials = () => new AppError('invalid_credentials', 'The email, password or authentication code is incorrect.');

// scrypt costs tens of milliseconds and 16 MiB per call on a pod of one CPU: one at a time per process, a short
// queue, and a flood of logins beyond that is refused at once instead of starving every other request.
const passwordHashing = createWorkLimit({ concurrency: 1, maxQueued: 8, order: 'fifo' });

async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await passwordHashing.run(() => verifySecret(password, hash));
  } catch (err) {
    if (err instanceof WorkLimitBusyError) {
      throw new AppError('rate_limited', 'Too many sign-ins are being checked right now; retry in a second.', { headers: { 'retry-after': '1' } });
    }
    throw err;
  }
}

type Outcome = { ok: true; token: string; live: LiveSession } | { ok: false; error: AppError };

/**
 * Email + password, then TOTP when the account has it (always outside development). Five failures within 15
 * minutes lock the account for 15 minutes. The failure bookkeeping commits even though the login fails, so errors
 * are returned out of the transaction and thrown after it.
 */
export async function loginWithPassword(deps: StaffDeps, input: LoginInput, meta: RequestMeta): Promise<{ token: string; live: LiveSession }> {
  if (!deps.config.staffLocalLogin) {
    throw new AppError('invalid_request', 'Local login is disabled (STAFF_LOCAL_LOGIN=false); sign in with SSO.');
  }
  const email = input.email.trim().toLowerCase();
  const user = await repo.findStaffUserByEmail(deps.db, email);
  // scrypt runs whether or not the account exists, so timing does not reveal which emails are staff
  const passwordOk = await verifyPassword(input.password, user?.password_hash ?? DUMMY_SECRET_HASH);
  if (!user || !user.password_hash) throw invalidCredentials();

  const outcome = await withCrossTenantTx(deps.db, async (tx): Promise<Outcome> => {
    const now = deps.now();
    const row = await repo.lockStaffUser(tx, user.id);
    if (!row) return { ok: false, error: invalidCredentials() };
    if (row.locked_until && row.locked_until > now) return { ok: false, error: lockedOut(row.locked_until, now) };
    if (row.status !== 'active') return { ok: false, error: invalidCredentials() };

    // Every failure is audited; the lockout counts those of the last 15 minutes (since the last good login or lockout).
    const fail = async (reason: 'password' | 'totp'): Promise<Outcome> => {
      await recordAudit(tx, {
        actor: { type: 'staff', id: row.id }, action: 'staff.login_failed', targetId: row.id, details: { reason, ip: meta.ip }, requestId: meta.requestId, at: now,
      });
      const windowStart = new Date(Math.max(now.getTime() - LOCKOUT_MS, row.last_login_at?.getTime() ?? 0, row.locked_until?.getTime() ?? 0));
      const failures = await repo.countLoginFailures(tx, row.id, windowStart);
      if (failures < MAX_FAILED_LOGINS) {
        await repo.updateStaffUser(tx, row.id, { failed_logins: failures });
        return { ok: false, error: invalidCredentials() };
      }
      const until = new Date(now.getTime() + LOCKOUT_MS);
      await repo.updateStaffUser(tx, row.id, { failed_logins: failures, locked_until: until });
      await recordAudit(tx, {
        actor: { type: 'staff', id: row.id }, action: 'staff.login_locked', targetId: row.id,
        details: { failed_logins: failures, locked_until: until.toISOString(), ip: meta.ip }, requestId: meta.requestId, at: now,
      });
      return { ok: false, error: invalidCredentials() };
    };

    if (!passwordOk) return fail('password');
    if (!row.totp_secret_enc) {
      if (deps.config.env !== 'development') {
        return {
          ok: false,
          error: new AppError('invalid_credentials', `This account has no second factor, which ${deps.config.env} requires; ask a platform admin to re-create it with TOTP (nimbuspay staff create).`),
        };
      }
    } else {
      if (!input.totp_code) return { ok: false, error: new AppError('totp_required', 'Enter the 6-digit code of your authenticator app.', { param: 'totp_code' }) };
      const step = matchTotpStep(deps.keyRing.decrypt('staff-totp', row.totp_secret_enc), input.totp_code, now);
      if (step === undefined || (row.totp_last_step !== null && BigInt(step) <= row.totp_last_step)) return fail('totp');
      await repo.updateStaffUser(tx, row.id, { totp_last_step: BigInt(step) });
    }
    return { ok: true, ...(await openSession(tx, deps, row, 'password', meta)) };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome;
}

function lockedOut(until: Date, now: Date): AppError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new AppError('rate_limited', `Too many failed logins for this account; try again in ${Math.ceil(seconds / 60)} minutes.`, {
    headers: { 'retry-after': String(seconds) },
  });
}
