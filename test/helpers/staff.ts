/**
 * Staff (support console) helpers for tests: create an account straight through the staff module (as
 * `nimbuspay staff create` does), then log in through the real HTTP login route and keep the cookie and CSRF token.
 *
 *   const agent = await createStaffUser(platform, { role: 'support_agent' });
 *   const session = await loginStaff(platform, agent);
 *   await staffRequest(platform, session, 'GET', '/v1/support/health');
 *   await staffRequest(platform, session, 'POST', '/v1/support/…', { body: { reason: '…' } }); // CSRF header added
 */
import { createStaffUser as createStaffUserInDb, totpCode } from '../../src/modules/staff/index.js';
import type { StaffRole } from '../../src/platform/http/scopes.js';
import type { TestPlatform, TestResponse } from './platform.js';

export interface TestStaffUser {
  id: string;
  email: string;
  password: string;
  role: StaffRole;
  /** base32 TOTP secret, when the account has a second factor */
  totpSecret: string | null;
  totpUri: string | null;
}

export interface StaffSession {
  /** `name=value`, ready for a Cookie header */
  cookie: string;
  cookieName: string;
  token: string;
  csrfToken: string;
  /** the StaffSession resource the login answered */
  body: any;
  user: TestStaffUser;
}

let counter = 0;

/** A local staff account; TOTP defaults to on outside development and off in development (as the CLI's default is on, say so). */
export async function createStaffUser(
  platform: TestPlatform,
  options: { role?: StaffRole; totp?: boolean; email?: string; displayName?: string } = {},
): Promise<TestStaffUser> {
  const email = options.email ?? `staff${++counter}-${Date.now().toString(36)}@nimbuspay.test`;
  const role = options.role ?? 'support_agent';
  const created = await createStaffUserInDb(
    { db: platform.database.db, keyRing: platform.api.services.keyRing, now: () => new Date() },
    { email, displayName: options.displayName, role, totp: options.totp ?? platform.config.env !== 'development' },
  );
  return { id: created.user.id, email: created.user.email, password: created.password, role, totpSecret: created.totpSecret, totpUri: created.totpUri };
}

const STEP_MS = 30_000;
const usedSteps = new Map<string, number>();

/**
 * A TOTP code this account has not used yet: the current step, or the next one (accepted as clock drift). Two
 * logins within one 30-second step would otherwise replay the same code, which the API rightly refuses.
 */
export function freshTotpCode(secret: string, now = Date.now()): string {
  const current = Math.floor(now / STEP_MS);
  const last = usedSteps.get(secret) ?? -1;
  const step = Math.max(current, last + 1);
  if (step > current + 1) throw new Error('freshTotpCode: both acceptable TOTP steps are used; wait for the next 30-second step');
  usedSteps.set(secret, step);
  return totpCode(secret, new Date(step * STEP_MS));
}

/** Parses the session cookie out of a login (or SSO callback) response. */
export function sessionFromResponse(res: { headers: Headers }): { cookieName: string; token: string } | undefined {
  for (const line of res.headers.getSetCookie()) {
    const m = /^((?:__Host-)?nimbuspay_session)=([^;]*)/.exec(line);
    if (m && m[2]) return { cookieName: m[1]!, token: decodeURIComponent(m[2]) };
  }
  return undefined;
}

/** Logs in through POST /v1/staff/login (with a fresh TOTP code when the account has TOTP); throws unless 200. */
export async function loginStaff(platform: TestPlatform, user: TestStaffUser): Promise<StaffSession> {
  const body: Record<string, string> = { email: user.email, password: user.password };
  if (user.totpSecret) body.totp_code = freshTotpCode(user.totpSecret);
  const res = await platform.request('POST', '/v1/staff/login', { body });
  if (res.status !== 200) throw new Error(`staff login failed: ${res.status} ${res.text}`);
  const cookie = sessionFromResponse(res);
  if (!cookie) throw new Error(`staff login set no session cookie: ${res.headers.getSetCookie().join(' | ')}`);
  return { cookie: `${cookie.cookieName}=${cookie.token}`, cookieName: cookie.cookieName, token: cookie.token, csrfToken: res.body.csrf_token, body: res.body, user };
}

/** createStaffUser + loginStaff. */
export async function staffSession(platform: TestPlatform, options: { role?: StaffRole; totp?: boolean } = {}): Promise<StaffSession> {
  return loginStaff(platform, await createStaffUser(platform, options));
}

/**
 * A request as the console makes it: the session cookie, and on state-changing methods the X-CSRF-Token header
 * (pass `csrf: false` to leave it out, `headers` to add an Origin…).
 */
export async function staffRequest(
  platform: TestPlatform,
  session: Pick<StaffSession, 'cookie' | 'csrfToken'>,
  method: string,
  path: string,
  options: { body?: unknown; csrf?: boolean; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { cookie: session.cookie, ...options.headers };
  if (method !== 'GET' && method !== 'HEAD' && options.csrf !== false) headers['x-csrf-token'] = session.csrfToken;
  return platform.request(method, path, { headers, ...(options.body !== undefined ? { body: options.body } : {}) });
}
