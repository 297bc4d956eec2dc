import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../platform/config.js';
import type { Db, Tx } from '../../platform/db.js';
import { recordAudit } from '../../platform/audit-log.repository.js';
import { withCrossTenantTx } from '../../platform/db.js';
import type { KeyRing } from '../../platform/crypto.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { StaffSessionAuthenticator } from '../../platform/http/auth-hook.js';
import { STAFF_ROLE_SCOPES, type AuthContext } from '../../platform/http/scopes.js';
import * as repo from './staff.repository.js';
import type { StaffSessionResource } from './staff.schema.js';

export type StaffConfig = Pick<Config,
  'env' | 'publicUrl' | 'staffLocalLogin' | 'staffOidcIssuer' | 'staffOidcClientId' | 'staffOidcClientSecret' | 'staffOidcRolesClaim' | 'staffOidcRoleMap'>;

export interface StaffDeps {
  db: Db;
  keyRing: KeyRing;
  config: StaffConfig;
  /** injected so tests can move time past the idle and absolute limits without waiting */
  now: () => Date;
}

export const IDLE_TIMEOUT_MS = 30 * 60_000;
export const ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CookieOptions {
  httpOnly: true;
  secure: boolean;
  sameSite: 'strict' | 'lax';
  path: '/';
  maxAge?: number;
}

/**
 * `__Host-` pins the cookie to this exact host over HTTPS with Path=/ (no subdomain can set or shadow it). Browsers
 * refuse that prefix without Secure, and development runs on plain http://localhost, hence the bare name there.
 */
export function sessionCookie(env: Config['env']): { name: string; options: CookieOptions } {
  const dev = env === 'development';
  return { name: dev ? 'nimbuspay_session' : '__Host-nimbuspay_session', options: { httpOnly: true, secure: !dev, sameSite: 'strict', path: '/' } };
}

/**
 * Binds an SSO flow to the browser that started it (login CSRF). Lax, not Strict: the identity provider sends the
 * browser back with a cross-site top-level navigation, which must carry it.
 */
export function ssoStateCookie(env: Config['env']): { name: string; options: CookieOptions } {
  const dev = env === 'development';
  return { name: dev ? 'nimbuspay_sso_state' : '__Host-nimbuspay_sso_state', options: { httpOnly: true, secure: !dev, sameSite: 'lax', path: '/', maxAge: 600 } };
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Derived from the session token, so it is never stored and dies with the session. */
export function csrfTokenFor(keyRing: KeyRing, sessionToken: string): string {
  return createHmac('sha256', keyRing.key('staff-csrf')).update(sessionToken).digest('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const fromPlugin = (request as { cookies?: Record<string, string | undefined> }).cookies?.[name];
  if (fromPlugin !== undefined) return fromPlugin || undefined;
  // the cookie plugin parses in its own onRequest hook; do not depend on hook order
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export const sessionExpired = () => new AppError('session_expired', 'The console session has expired or was signed out; log in again.');
const csrfInvalid = (why: string) => new AppError('csrf_token_invalid', `This request needs the session's CSRF token: ${why}.`);

/** A state-changing request carrying an Origin must come from the API's own origin (the console is served by it). */
export function assertSameOrigin(request: FastifyRequest, publicUrl: string): void {
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== new URL(publicUrl).origin) throw csrfInvalid(`origin ${origin} is not allowed`);
}

export interface LiveSession {
  session: repo.StaffSessionRow;
  user: repo.StaffUserRow;
}

/** The live session of a cookie value, its idle expiry slid; session_expired for anything else. */
export async function resolveSession(deps: StaffDeps, token: string): Promise<LiveSession> {
  const now = deps.now();
  const found = await repo.findSessionByTokenHash(deps.db, hashToken(token));
  if (!found) throw sessionExpired();
  const { session, user } = found;
  if (session.revoked_at || session.idle_expires_at <= now || session.absolute_expires_at <= now || user.status !== 'active') {
    throw sessionExpired();
  }
  const slid = await repo.touchSession(deps.db, session.id, now, new Date(now.getTime() + IDLE_TIMEOUT_MS));
  return { session: slid ?? session, user };
}

/** The auth hook's staff-session seam: the cookie, then (for state-changing calls) Origin and CSRF token. */
export function createStaffSessionAuthenticator(deps: StaffDeps): StaffSessionAuthenticator {
  const { name } = sessionCookie(deps.config.env);
  return async (request) => {
    const token = readCookie(request, name);
    if (!token) return undefined;
    const unsafe = !SAFE_METHODS.has(request.method);
    if (unsafe) assertSameOrigin(request, deps.config.publicUrl);
    const { session, user } = await resolveSession(deps, token);
    if (unsafe) {
      const header = request.headers['x-csrf-token'];
      if (typeof header !== 'string' || header === '') throw csrfInvalid('the X-CSRF-Token header is missing');
      if (!sameSecret(header, csrfTokenFor(deps.keyRing, token))) throw csrfInvalid('the X-CSRF-Token header does not match the session');
    }
    return staffAuthContext(session, user);
  };
}

export function staffAuthContext(session: repo.StaffSessionRow, user: repo.StaffUserRow): AuthContext {
  return {
    clientId: user.id,
    tenantId: null,
    scopes: new Set(STAFF_ROLE_SCOPES[user.role]),
    tokenId: session.id,
    actor: { type: 'staff', id: user.id, email: user.email, role: user.role, sessionId: session.id },
  };
}

export function toSessionResource(deps: StaffDeps, live: LiveSession, token: string): StaffSessionResource {
  const { session, user } = live;
  return {
    object: 'staff_session',
    id: session.id,
    staff: { id: user.id, email: user.email, display_name: user.display_name, role: user.role },
    scopes: [...STAFF_ROLE_SCOPES[user.role]],
    csrf_token: csrfTokenFor(deps.keyRing, token),
    auth_method: session.auth_method,
    created_at: session.created_at.toISOString(),
    idle_expires_at: session.idle_expires_at.toISOString(),
    absolute_expires_at: session.absolute_expires_at.toISOString(),
    environment: deps.config.env,
  };
}

export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

/** Opens a session after a successful login, in the login's transaction (with its audit entry). */
export async function openSession(
  tx: Tx,
  deps: StaffDeps,
  user: repo.StaffUserRow,
  method: 'password' | 'oidc',
  meta: RequestMeta,
): Promise<{ token: string; live: LiveSession }> {
  const now = deps.now();
  const token = randomBytes(32).toString('base64url');
  const session = await repo.insertSession(tx, {
    id: newId('staffSession'),
    token_hash: hashToken(token),
    staff_id: user.id,
    auth_method: method,
    created_at: now,
    last_seen_at: now,
    idle_expires_at: new Date(now.getTime() + IDLE_TIMEOUT_MS),
    absolute_expires_at: new Date(now.getTime() + ABSOLUTE_TIMEOUT_MS),
    source_ip: meta.ip,
    user_agent: meta.userAgent?.slice(0, 512) ?? null,
  });
  const updated = await repo.updateStaffUser(tx, user.id, { last_login_at: now, failed_logins: 0, locked_until: null });
  await recordAudit(tx, {
    actor: { type: 'staff', id: user.id }, action: 'staff.login', targetId: session.id, details: { method, ip: meta.ip }, requestId: meta.requestId,
  });
  return { token, live: { session, user: updated ?? user } };
}

export async function logout(deps: StaffDeps, token: string, meta: RequestMeta): Promise<void> {
  const live = await resolveSession(deps, token);
  await withCrossTenantTx(deps.db, async (tx) => {
    await repo.revokeSession(tx, live.session.id, deps.now());
    await recordAudit(tx, { actor: { type: 'staff', id: live.user.id }, action: 'staff.logout', targetId: live.session.id, requestId: meta.requestId });
  });
}
