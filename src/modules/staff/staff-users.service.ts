import { randomBytes } from 'node:crypto';
import type { Db } from '../../platform/db.js';
import { recordAudit } from '../../platform/audit-log.repository.js';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withCrossTenantTx } from '../../platform/db.js';
import { hashSecret, type KeyRing } from '../../platform/crypto.js';
import { AppError, notFound } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { Secret } from '../../platform/secret.js';
import type { StaffRole } from '../../platform/http/scopes.js';
import * as repo from './staff.repository.js';
import type { StaffUserResource } from './staff.schema.js';
import { newTotpSecret, totpUri } from './totp.js';

export interface StaffUsersDeps {
  db: Db;
  keyRing: KeyRing;
  now: () => Date;
}

/** Who created or disabled an account, for the audit log; absent for the operator's CLI and the dev bootstrap. */
export interface StaffAdminActor {
  type: 'client' | 'staff';
  id: string;
  requestId: string;
}

export function toStaffUserResource(row: repo.StaffUserRow): StaffUserResource {
  return {
    object: 'staff_user',
    id: row.id,
    email: row.email,
    display_name: row.display_name,
    role: row.role,
    status: row.status,
    login: row.oidc_subject ? 'sso' : 'local',
    totp_enabled: row.totp_secret_enc !== null,
    created_at: row.created_at.toISOString(),
    last_login_at: row.last_login_at?.toISOString() ?? null,
  };
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** What comes before the first '@' (the whole string when there is none): a default display name. */
export function emailLocalPart(email: string): string {
  const at = email.indexOf('@');
  return at === -1 ? email : email.slice(0, at);
}

const generatePassword = (): string => randomBytes(18).toString('base64url');

export interface CreatedStaffUser {
  user: StaffUserResource;
  /** shown once; only its scrypt hash is kept */
  password: string;
  /** base32 TOTP secret and its otpauth:// URI, shown once; kept encrypted under the master key */
  totpSecret: string | null;
  totpUri: string | null;
}

/** A local account with a generated password and, when asked, a TOTP second factor. */
export async function createStaffUser(
  deps: StaffUsersDeps,
  input: { email: string; displayName?: string | undefined; role: StaffRole; totp: boolean },
  actor?: StaffAdminActor,
): Promise<CreatedStaffUser> {
  const email = normaliseEmail(input.email);
  if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 320) throw new AppError('parameter_invalid_format', `'${input.email}' is not an email address: send name@example.com.`, { param: 'email' });
  const password = generatePassword();
  const passwordHash = await hashSecret(new Secret(password));
  const totpSecret = input.totp ? newTotpSecret() : null;
  try {
    const row = await withCrossTenantTx(deps.db, async (tx) => {
      const inserted = await repo.insertStaffUser(tx, {
        id: newId('staffUser'),
        email,
        display_name: input.displayName?.trim() || emailLocalPart(email),
        role: input.role,
        password_hash: passwordHash,
        totp_secret_enc: totpSecret ? deps.keyRing.encrypt('staff-totp', totpSecret) : null,
        created_at: deps.now(),
      });
      if (actor) {
        await recordAudit(tx, {
          actor, action: 'staff_user.create', targetId: inserted.id, details: { email, role: input.role, totp: input.totp }, requestId: actor.requestId,
        });
      }
      return inserted;
    });
    return { user: toStaffUserResource(row), password, totpSecret, totpUri: totpSecret ? totpUri(totpSecret, email) : null };
  } catch (err) {
    if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) throw new AppError('conflict', `A staff user with email '${email}' already exists.`, { param: 'email' });
    throw err;
  }
}

export async function listStaffUsers(deps: { db: Db }, page: { limit: number; starting_after?: string | undefined }) {
  const rows = await repo.listStaffUsers(deps.db, page);
  return { object: 'list' as const, data: rows.slice(0, page.limit).map(toStaffUserResource), has_more: rows.length > page.limit };
}

/** Disables an account and revokes its sessions in the same transaction: the console stops working for it at once. */
export async function disableStaffUser(deps: StaffUsersDeps, id: string, reason: string, actor: StaffAdminActor): Promise<StaffUserResource> {
  return withCrossTenantTx(deps.db, async (tx) => {
    const before = await repo.lockStaffUser(tx, id);
    if (!before) throw notFound('staff_user', id);
    const row = await repo.updateExistingStaffUser(tx, id, { status: 'disabled' });
    const revoked = await repo.revokeUserSessions(tx, id, deps.now());
    await recordAudit(tx, {
      actor, action: 'staff_user.disable', targetId: id, reason, details: { sessions_revoked: revoked, previous_status: before.status }, requestId: actor.requestId,
    });
    return toStaffUserResource(row);
  });
}

/**
 * Development: the demo staff account exists, is active, has no TOTP and gets a fresh password at each start
 * (printed on the banner, like the demo tenant's client secret).
 */
export async function ensureDemoStaffUser(deps: StaffUsersDeps, email: string): Promise<{ email: string; password: string }> {
  const password = generatePassword();
  const passwordHash = await hashSecret(new Secret(password));
  await withCrossTenantTx(deps.db, async (tx) => {
    const existing = await repo.findStaffUserByEmail(tx, email);
    if (existing) {
      await repo.updateStaffUser(tx, existing.id, {
        password_hash: passwordHash, totp_secret_enc: null, totp_last_step: null, status: 'active', role: 'platform_admin', failed_logins: 0, locked_until: null,
      });
    } else {
      await repo.insertStaffUser(tx, {
        id: newId('staffUser'), email, display_name: 'Demo support', role: 'platform_admin', password_hash: passwordHash, totp_secret_enc: null, created_at: deps.now(),
      });
    }
  });
  return { email, password };
}
