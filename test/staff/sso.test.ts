/**
 * Staff SSO end to end against a real OpenID Connect provider (oidc-provider) on loopback: authorization code +
 * PKCE, state bound to the browser, nonce, roles from a claim through the role map.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { CookieJar, followRedirects, ssoLogin, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { createStaffUser } from '../helpers/staff.js';
import { disableStaffUser } from '../../src/modules/staff/index.js';
import { withCrossTenantTx } from '../../src/platform/db.js';

let idp: TestOidcProvider;
let platform: TestPlatform | undefined;

before(async () => {
  idp = await startOidcProvider({ rolesClaim: 'groups' });
  platform = await startTestPlatform({
    env: { ...idp.platformEnv({ roleMap: 'support-team=support_agent,support-ops=support_operator,nimbus-admins=platform_admin' }), STAFF_LOCAL_LOGIN: 'false' },
  });
  idp.allowRedirect(`${platform.baseUrl}/v1/staff/sso/callback`);
});
after(async () => {
  await platform?.close();
  await idp.close();
});

const p = () => platform!;
const sessionOf = (cookie: string) => p().request('GET', '/v1/staff/session', { headers: { cookie: `nimbuspay_session=${cookie}` } });

describe('staff SSO (OpenID Connect)', () => {
  it('login_options says SSO only; the local login answers that it is disabled', async () => {
    const options = await p().request('GET', '/v1/staff/login_options');
    assert.deepEqual(options.body, { local: false, sso: true, environment: 'development' });
    const user = await createStaffUser(p());
    const res = await p().request('POST', '/v1/staff/login', { body: { email: user.email, password: user.password } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_request');
    assert.match(res.body.error.message, /local login is disabled/i);
  });

  it('start redirects to the provider with PKCE S256, state and nonce, and binds the state to the browser', async () => {
    const res = await fetch(`${p().baseUrl}/v1/staff/sso/start?return_to=%2Fconsole%2Fhealth`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin, idp.issuer);
    const q = location.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), idp.clientId);
    assert.equal(q.get('redirect_uri'), `${p().baseUrl}/v1/staff/sso/callback`);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(q.get('state') && q.get('nonce'));
    assert.match(q.get('scope')!, /openid/);
    const stateCookie = res.headers.getSetCookie().find((c) => c.startsWith('nimbuspay_sso_state='))!;
    assert.ok(stateCookie, res.headers.getSetCookie().join(' | '));
    assert.equal(stateCookie.split(';')[0], `nimbuspay_sso_state=${q.get('state')}`);
    assert.match(stateCookie, /HttpOnly/i);
    assert.match(stateCookie, /SameSite=Lax/i);
    assert.match(stateCookie, /Max-Age=600/i);
    assert.match(stateCookie, /Path=\//);
    // only the state's hash is kept
    const flows = await p().database.db.selectFrom('staff_oidc_flows').selectAll().execute();
    assert.ok(flows.every((f) => f.state_hash !== q.get('state')));
  });

  it('refuses a return_to outside the console', async () => {
    for (const bad of ['https://evil.example/console', '//evil.example/console', '/v1/admin/tenants', '/console\\@evil']) {
      const res = await p().request('GET', `/v1/staff/sso/start?return_to=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.param, 'return_to');
    }
  });

  it('signs a person in with the highest mapped role, lands on return_to, and updates the role at each login', async () => {
    idp.addAccount({ sub: 'okta|ann', email: 'Ann@Corp.test', name: 'Ann Example', roles: ['support-team', 'support-ops', 'unrelated'] });
    idp.setNextLogin('okta|ann');
    const first = await ssoLogin(p().baseUrl, { returnTo: '/console/payments/pay_123?tab=timeline' });
    assert.equal(first.location, '/console/payments/pay_123?tab=timeline', JSON.stringify(first.hops));
    assert.ok(first.sessionCookie);
    assert.equal(first.jar.get(p().baseUrl, 'nimbuspay_sso_state'), undefined, 'the state cookie is cleared');
    const s1 = await sessionOf(first.sessionCookie);
    assert.equal(s1.status, 200, s1.text);
    assert.equal(s1.body.auth_method, 'oidc');
    assert.equal(s1.body.staff.email, 'ann@corp.test');
    assert.equal(s1.body.staff.display_name, 'Ann Example');
    assert.equal(s1.body.staff.role, 'support_operator');
    const user = await p().database.db.selectFrom('staff_users').selectAll().where('id', '=', s1.body.staff.id).executeTakeFirstOrThrow();
    assert.equal(user.oidc_issuer, idp.issuer);
    assert.equal(user.oidc_subject, 'okta|ann');
    assert.equal(user.password_hash, null);

    idp.addAccount({ sub: 'okta|ann', email: 'ann@corp.test', name: 'Ann Example', roles: 'nimbus-admins' });
    const second = await ssoLogin(p().baseUrl);
    assert.equal(second.location, '/console/');
    const s2 = await sessionOf(second.sessionCookie!);
    assert.equal(s2.body.staff.id, s1.body.staff.id);
    assert.equal(s2.body.staff.role, 'platform_admin');

    const audit = await withCrossTenantTx(p().database.db, (tx) =>
      tx.selectFrom('audit_log').select(['action', 'details']).where('actor_id', '=', s1.body.staff.id).execute());
    assert.deepEqual(audit.map((a) => [a.action, (a.details as { method: string }).method]), [['staff.login', 'oidc'], ['staff.login', 'oidc']]);
  });

  it('a person without a console role gets no session and no account', async () => {
    idp.addAccount({ sub: 'okta|bob', email: 'bob@corp.test', roles: ['engineering'] });
    idp.setNextLogin('okta|bob');
    const res = await ssoLogin(p().baseUrl);
    assert.equal(res.location, '/console/login?error=no_role');
    assert.equal(res.sessionCookie, undefined);
    assert.equal(await p().database.db.selectFrom('staff_users').select('id').where('email', '=', 'bob@corp.test').executeTakeFirst(), undefined);
  });

  it('an email that belongs to a local account is a conflict', async () => {
    const local = await createStaffUser(p(), { email: 'carol@corp.test' });
    idp.addAccount({ sub: 'okta|carol', email: local.email, roles: ['support-team'] });
    idp.setNextLogin('okta|carol');
    const res = await ssoLogin(p().baseUrl);
    assert.equal(res.location, '/console/login?error=account_conflict');
    assert.equal(res.sessionCookie, undefined);
  });

  it('a disabled SSO account cannot sign in again, and its live session dies', async () => {
    idp.addAccount({ sub: 'okta|dan', email: 'dan@corp.test', roles: ['support-team'] });
    idp.setNextLogin('okta|dan');
    const first = await ssoLogin(p().baseUrl);
    const session = await sessionOf(first.sessionCookie!);
    await disableStaffUser({ db: p().database.db, keyRing: p().api.services.keyRing, now: () => new Date() }, session.body.staff.id, 'left the company', { type: 'client', id: 'platform-admin', requestId: 'req_sso_disable' });
    assert.equal((await sessionOf(first.sessionCookie!)).status, 401);
    const again = await ssoLogin(p().baseUrl);
    assert.equal(again.location, '/console/login?error=disabled');
    assert.equal(again.sessionCookie, undefined);
  });

  it('refuses a callback from another browser (state cookie missing or different) and a replayed callback', async () => {
    idp.addAccount({ sub: 'okta|eve', email: 'eve@corp.test', roles: ['support-team'] });
    idp.setNextLogin('okta|eve');
    const callbackPrefix = `${p().baseUrl}/v1/staff/sso/callback`;

    // the attacker's flow: stopped at the callback, then handed to a victim browser without the state cookie
    const attacker = new CookieJar();
    const hops = await followRedirects(`${p().baseUrl}/v1/staff/sso/start`, attacker, { stopAt: (u) => u.startsWith(callbackPrefix) });
    const callbackUrl = new URL(hops[hops.length - 1]!.location!, p().baseUrl).href;
    const victim = new CookieJar();
    victim.set(p().baseUrl, 'nimbuspay_sso_state', 'some-other-state');
    const crossed = await followRedirects(callbackUrl, victim, { stopAt: (u) => new URL(u).pathname.startsWith('/console') });
    assert.equal(crossed[0]!.location, '/console/login?error=sso_failed');
    assert.equal(victim.get(p().baseUrl, 'nimbuspay_session'), undefined);

    // a good flow, completed once, then replayed with the same state cookie
    const jar = new CookieJar();
    const good = await followRedirects(`${p().baseUrl}/v1/staff/sso/start`, jar, { stopAt: (u) => u.startsWith(callbackPrefix) });
    const goodCallback = new URL(good[good.length - 1]!.location!, p().baseUrl).href;
    const state = jar.get(p().baseUrl, 'nimbuspay_sso_state')!;
    const done = await followRedirects(goodCallback, jar, { stopAt: (u) => new URL(u).pathname.startsWith('/console') });
    assert.equal(done[0]!.location, '/console/');
    const replayJar = new CookieJar();
    replayJar.set(p().baseUrl, 'nimbuspay_sso_state', state);
    const replay = await followRedirects(goodCallback, replayJar, { stopAt: (u) => new URL(u).pathname.startsWith('/console') });
    assert.equal(replay[0]!.location, '/console/login?error=sso_failed');
    assert.equal(replayJar.get(p().baseUrl, 'nimbuspay_session'), undefined);
  });

  it('a callback with a forged state or an error from the provider fails cleanly', async () => {
    const forged = await fetch(`${p().baseUrl}/v1/staff/sso/callback?code=abc&state=forged`, { redirect: 'manual', headers: { cookie: 'nimbuspay_sso_state=forged' } });
    assert.equal(forged.status, 302);
    assert.equal(forged.headers.get('location'), '/console/login?error=sso_failed');
    idp.setNextLogin('nobody');
    const denied = await ssoLogin(p().baseUrl);
    assert.equal(denied.location, '/console/login?error=sso_failed');
    assert.equal(denied.sessionCookie, undefined);
  });
});
