/**
 * Outside development: the `__Host-` Secure session cookie, TOTP always required, and an identity provider that
 * is down does not stop the API from starting (discovery happens at the first SSO login).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, freePort, type TestPlatform } from '../helpers/platform.js';
import { createStaffUser, freshTotpCode, loginStaff, staffRequest } from '../helpers/staff.js';

let platform: TestPlatform;

before(async () => {
  // nothing listens on the issuer's port: discovery would fail if it ran at start-up
  const deadIdp = `http://127.0.0.1:${await freePort()}`;
  platform = await startTestPlatform({
    env: { NIMBUSPAY_ENV: 'staging', STAFF_OIDC_ISSUER: deadIdp, STAFF_OIDC_CLIENT_ID: 'console', STAFF_OIDC_CLIENT_SECRET: 'secret-0123456789' },
  });
});
after(() => platform.close());

describe('staff login outside development (staging)', () => {
  it('sets the __Host- cookie with Secure, HttpOnly, SameSite=Strict, Path=/ and no Domain', async () => {
    const user = await createStaffUser(platform, { role: 'support_agent' });
    assert.ok(user.totpSecret, 'accounts get TOTP outside development');
    const res = await platform.request('POST', '/v1/staff/login', { body: { email: user.email, password: user.password, totp_code: freshTotpCode(user.totpSecret!) } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.environment, 'staging');
    const cookies = res.headers.getSetCookie();
    assert.equal(cookies.length, 1);
    const parts = cookies[0]!.split(';').map((p) => p.trim());
    assert.match(parts[0]!, /^__Host-nimbuspay_session=[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parts.slice(1).map((p) => p.toLowerCase()).sort(), ['httponly', 'path=/', 'samesite=strict', 'secure']);
    const cookie = parts[0]!;
    const session = await staffRequest(platform, { cookie, csrfToken: res.body.csrf_token }, 'GET', '/v1/staff/session');
    assert.equal(session.status, 200, session.text);
    // the development cookie name means nothing here
    const devName = await platform.request('GET', '/v1/staff/session', { headers: { cookie: cookie.replace('__Host-', '') } });
    assert.equal(devName.status, 401);
    assert.equal(devName.body.error.code, 'authentication_required');
  });

  it('requires the TOTP code', async () => {
    const user = await createStaffUser(platform);
    const res = await platform.request('POST', '/v1/staff/login', { body: { email: user.email, password: user.password } });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'totp_required');
    await loginStaff(platform, user);
  });

  it('refuses an account without a second factor, saying why', async () => {
    const user = await createStaffUser(platform, { totp: false });
    const res = await platform.request('POST', '/v1/staff/login', { body: { email: user.email, password: user.password } });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'invalid_credentials');
    assert.match(res.body.error.message, /second factor/);
    assert.equal(res.headers.getSetCookie().length, 0);
  });

  it('started although the identity provider is down; SSO then fails cleanly', async () => {
    const options = await platform.request('GET', '/v1/staff/login_options');
    assert.deepEqual(options.body, { local: true, sso: true, environment: 'staging' });
    const res = await fetch(`${platform.baseUrl}/v1/staff/sso/start`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/console/login?error=sso_failed');
  });
});
