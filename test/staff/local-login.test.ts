/**
 * Local staff login in development, over real HTTP: the session cookie, wrong credentials, TOTP, lockout, the
 * session endpoint, logout, CSRF and a disabled account.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createStaffUser, freshTotpCode, loginStaff, sessionFromResponse, staffRequest, staffSession } from '../helpers/staff.js';
import { adminToken } from '../helpers/tenants.js';
import { disableStaffUser, totpCode } from '../../src/modules/staff/index.js';
import { withCrossTenantTx } from '../../src/platform/db.js';

let platform: TestPlatform;

before(async () => {
  platform = await startTestPlatform();
});
after(() => platform.close());

const login = (body: Record<string, unknown>, headers: Record<string, string> = {}) => platform.request('POST', '/v1/staff/login', { body, headers });

async function auditActions(actorId: string): Promise<string[]> {
  const rows = await withCrossTenantTx(platform.database.db, (tx) =>
    tx.selectFrom('audit_log').select(['action', 'actor_type', 'tenant_id']).where('actor_id', '=', actorId).orderBy('created_at').execute());
  for (const r of rows) {
    assert.equal(r.actor_type, 'staff');
    assert.equal(r.tenant_id, null);
  }
  return rows.map((r) => r.action);
}

describe('staff local login (development)', () => {
  it('login_options says what is available', async () => {
    const res = await platform.request('GET', '/v1/staff/login_options');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { local: true, sso: false, environment: 'development' });
  });

  it('logs in, sets the development session cookie with exact attributes, and answers a StaffSession', async () => {
    const user = await createStaffUser(platform, { role: 'support_operator', email: 'Mixed.Case@NimbusPay.test' });
    assert.equal(user.email, 'mixed.case@nimbuspay.test');
    const res = await login({ email: 'MIXED.case@nimbuspay.test', password: user.password });
    assert.equal(res.status, 200, res.text);
    const cookies = res.headers.getSetCookie();
    assert.equal(cookies.length, 1);
    const parts = cookies[0]!.split(';').map((p) => p.trim());
    assert.match(parts[0]!, /^nimbuspay_session=[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parts.slice(1).map((p) => p.toLowerCase()).sort(), ['httponly', 'path=/', 'samesite=strict']);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const s = res.body;
    assert.equal(s.object, 'staff_session');
    assert.match(s.id, /^ses_/);
    assert.deepEqual(s.staff, { id: user.id, email: user.email, display_name: 'mixed.case', role: 'support_operator' });
    assert.deepEqual(s.scopes, ['support:read', 'support:write']);
    assert.equal(s.auth_method, 'password');
    assert.equal(s.environment, 'development');
    assert.ok(s.csrf_token.length >= 40);
    const created = Date.parse(s.created_at);
    assert.equal(Date.parse(s.idle_expires_at) - created, 30 * 60_000);
    assert.equal(Date.parse(s.absolute_expires_at) - created, 12 * 3600_000);
    // the token is never stored: only its SHA-256
    const token = sessionFromResponse(res)!.token;
    const row = await platform.database.db.selectFrom('staff_sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    assert.notEqual(row.token_hash, token);
    assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    assert.ok(!platform.logs.text().includes(token), 'the session token must never be logged');
    assert.ok(!platform.logs.text().includes(user.password), 'the password must never be logged');
    assert.deepEqual(await auditActions(user.id), ['staff.login']);
  });

  it('answers the same for an unknown email, a wrong password and a disabled account', async () => {
    const user = await createStaffUser(platform);
    const disabled = await createStaffUser(platform);
    await disableStaffUser({ db: platform.database.db, keyRing: platform.api.services.keyRing, now: () => new Date() }, disabled.id, 'left the company', { type: 'staff', id: user.id, requestId: 'req_test_disable' });
    const answers = await Promise.all([
      login({ email: 'nobody@nimbuspay.test', password: 'whatever-password' }),
      login({ email: user.email, password: `${user.password}x` }),
      login({ email: disabled.email, password: disabled.password }),
    ]);
    for (const res of answers) {
      assert.equal(res.status, 401, res.text);
      assert.equal(res.body.error.code, 'invalid_credentials');
      assert.equal(res.body.error.message, answers[0]!.body.error.message);
      assert.equal(res.headers.getSetCookie().length, 0);
    }
  });

  it('rejects malformed bodies', async () => {
    assert.equal((await login({ email: 'a@b.c' })).status, 400);
    assert.equal((await login({ email: 'a@b.c', password: 'x', extra: 1 })).status, 400);
    assert.equal((await login({ email: 'a@b.c', password: 'x', totp_code: '12345' })).status, 400);
  });

  it('requires the TOTP code of an account that has one, refuses a wrong one and a replayed one', async () => {
    const user = await createStaffUser(platform, { totp: true });
    assert.match(user.totpUri!, /^otpauth:\/\/totp\/NimbusPay:.+\?.*secret=/);
    const missing = await login({ email: user.email, password: user.password });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, 'totp_required');
    const code = freshTotpCode(user.totpSecret!);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const bad = await login({ email: user.email, password: user.password, totp_code: wrong });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error.code, 'invalid_credentials');
    const ok = await login({ email: user.email, password: user.password, totp_code: code });
    assert.equal(ok.status, 200, ok.text);
    const replay = await login({ email: user.email, password: user.password, totp_code: code });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, 'invalid_credentials');
    // an old code (two steps back) is outside the drift window
    const stale = await login({ email: user.email, password: user.password, totp_code: totpCode(user.totpSecret!, new Date(Date.now() - 90_000)) });
    assert.equal(stale.status, 401);
  });

  it('locks an account for 15 minutes after 5 failures (429 with Retry-After), even for the right password', async () => {
    const user = await createStaffUser(platform);
    for (let i = 0; i < 5; i++) {
      const res = await login({ email: user.email, password: 'wrong-password' });
      assert.equal(res.status, 401);
    }
    const locked = await login({ email: user.email, password: user.password });
    assert.equal(locked.status, 429, locked.text);
    assert.equal(locked.body.error.code, 'rate_limited');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, String(retryAfter));
    assert.deepEqual(await auditActions(user.id), [...Array(5).fill('staff.login_failed'), 'staff.login_locked']);
  });

  it('GET /v1/staff/session answers the session for its cookie, 401 without one', async () => {
    const session = await staffSession(platform, { role: 'platform_admin' });
    const res = await staffRequest(platform, session, 'GET', '/v1/staff/session');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, session.body.id);
    assert.equal(res.body.csrf_token, session.csrfToken);
    assert.deepEqual(res.body.scopes, ['support:read', 'support:write', 'platform:admin']);
    const none = await platform.request('GET', '/v1/staff/session');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'authentication_required');
    const forged = await platform.request('GET', '/v1/staff/session', { headers: { cookie: 'nimbuspay_session=not-a-session' } });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.error.code, 'session_expired');
  });

  it('a bearer token (even the platform admin) is not a console session', async () => {
    const res = await platform.request('GET', '/v1/staff/session', { token: await adminToken(platform) });
    assert.equal(res.status, 403);
  });

  it('logout revokes the session on the server and clears the cookie', async () => {
    const session = await staffSession(platform);
    const noCsrf = await staffRequest(platform, session, 'POST', '/v1/staff/logout', { csrf: false });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 'csrf_token_invalid');
    const wrongCsrf = await staffRequest(platform, { ...session, csrfToken: 'x'.repeat(43) }, 'POST', '/v1/staff/logout');
    assert.equal(wrongCsrf.body.error.code, 'csrf_token_invalid');
    const foreign = await staffRequest(platform, session, 'POST', '/v1/staff/logout', { headers: { origin: 'https://evil.example' } });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error.code, 'csrf_token_invalid');
    const out = await staffRequest(platform, session, 'POST', '/v1/staff/logout', { headers: { origin: platform.baseUrl } });
    assert.equal(out.status, 204, out.text);
    const cleared = out.headers.getSetCookie()[0] ?? '';
    assert.match(cleared, /^nimbuspay_session=;/);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970/i);
    const after = await staffRequest(platform, session, 'GET', '/v1/staff/session');
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'session_expired');
    assert.deepEqual(await auditActions(session.user.id), ['staff.login', 'staff.logout']);
  });

  it('refuses a login posted from another origin', async () => {
    const user = await createStaffUser(platform);
    const res = await login({ email: user.email, password: user.password }, { origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'csrf_token_invalid');
  });

  it("a disabled account's sessions stop working at once", async () => {
    const session = await staffSession(platform, { role: 'support_operator' });
    assert.equal((await staffRequest(platform, session, 'GET', '/v1/staff/session')).status, 200);
    await disableStaffUser({ db: platform.database.db, keyRing: platform.api.services.keyRing, now: () => new Date() }, session.user.id, 'account compromised', { type: 'client', id: 'platform-admin', requestId: 'req_test_disable2' });
    const res = await staffRequest(platform, session, 'GET', '/v1/staff/session');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'session_expired');
  });

  it('a flood of sign-ins is partly refused fast (429 with Retry-After) instead of queueing password checks without end; never a 500', async () => {
    const user = await createStaffUser(platform);
    const flood = await Promise.all(Array.from({ length: 40 }, (_, i) => login({ email: `flood-${i}@nimbuspay.test`, password: 'whatever-password' })));
    const busy = flood.filter((res) => res.status === 429);
    assert.deepEqual([...new Set(flood.map((res) => res.status))].sort(), [401, 429], flood.map((res) => res.status).join(','));
    for (const res of busy) {
      assert.equal(res.body.error.code, 'rate_limited', res.text);
      assert.equal(res.headers.get('retry-after'), '1');
    }
    // the limit is on work in progress, not a lockout: once the flood is over, the right password works
    assert.equal((await login({ email: user.email, password: user.password })).status, 200);
  });

  it('a TOTP account logs in with the test helper twice in a row (fresh codes)', async () => {
    const user = await createStaffUser(platform, { totp: true });
    await loginStaff(platform, user);
    await loginStaff(platform, user);
  });
});
