/**
 * Idle (30 min, sliding) and absolute (12 h) session expiry, and the worker's purge, proven with an injected clock:
 * the staff routes and the session authenticator run on an HTTP app of their own (real HTTP, the test platform's
 * real database and key ring) whose `now` the test moves.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fastifyCookie from '@fastify/cookie';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createStaffUser, sessionFromResponse } from '../helpers/staff.js';
import { createHttpApp, type HttpApp } from '../../src/platform/http/app.js';
import { invalidToken, registerAuthHook } from '../../src/platform/http/auth-hook.js';
import { createStaffSessionAuthenticator, registerStaffRoutes, staffPurgeJob, type StaffDeps } from '../../src/modules/staff/index.js';

let platform: TestPlatform;
let app: HttpApp | undefined;
let baseUrl: string;
let clock = new Date('2026-03-02T09:00:00.000Z');
let deps: StaffDeps;

const MIN = 60_000;
const advance = (ms: number) => {
  clock = new Date(clock.getTime() + ms);
};

before(async () => {
  platform = await startTestPlatform();
  app = await createHttpApp({ logger: platform.logger, bodyLimitBytes: 65_536, publicUrl: 'http://127.0.0.1', title: 'staff clock test' });
  deps = { db: platform.database.db, keyRing: platform.api.services.keyRing, config: platform.config, now: () => clock };
  await app.register(fastifyCookie);
  registerAuthHook(app, async () => { throw invalidToken('no tokens here'); }, createStaffSessionAuthenticator(deps));
  registerStaffRoutes(app, { ...deps, logger: platform.logger, oidc: undefined });
  await app.ready();
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await app?.close();
  await platform.close();
});

async function login(): Promise<string> {
  const user = await createStaffUser(platform);
  const res = await fetch(`${baseUrl}/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }) });
  assert.equal(res.status, 200, await res.clone().text());
  return `nimbuspay_session=${sessionFromResponse(res)!.token}`;
}

async function session(cookie: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}/v1/staff/session`, { headers: { cookie } });
  return { status: res.status, body: await res.json() };
}

const row = (id: string) => platform.database.db.selectFrom('staff_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('staff session expiry (injected clock)', () => {
  it('expires after 30 idle minutes', async () => {
    const cookie = await login();
    advance(29 * MIN);
    assert.equal((await session(cookie)).status, 200);
    advance(29 * MIN); // 58 minutes after login, 29 after the last request: alive because it slid
    const alive = await session(cookie);
    assert.equal(alive.status, 200);
    assert.equal(alive.body.idle_expires_at, new Date(clock.getTime() + 30 * MIN).toISOString());
    advance(30 * MIN);
    const dead = await session(cookie);
    assert.equal(dead.status, 401);
    assert.equal(dead.body.error.code, 'session_expired');
  });

  it('slides at most once a minute (one write, not one per request)', async () => {
    const cookie = await login();
    const first = await session(cookie);
    const before = await row(first.body.id);
    advance(30_000);
    await session(cookie);
    assert.deepEqual((await row(first.body.id)).last_seen_at, before.last_seen_at);
    advance(31_000);
    await session(cookie);
    assert.equal((await row(first.body.id)).last_seen_at.getTime(), clock.getTime());
  });

  it('expires 12 hours after login however active the person is', async () => {
    const cookie = await login();
    const started = clock.getTime();
    while (clock.getTime() - started < 12 * 60 * MIN - 20 * MIN) {
      advance(20 * MIN);
      const alive = await session(cookie);
      assert.equal(alive.status, 200, `at +${(clock.getTime() - started) / MIN} min`);
      assert.ok(Date.parse(alive.body.idle_expires_at) <= started + 12 * 60 * MIN, 'idle expiry never passes the absolute one');
    }
    advance(20 * MIN);
    const dead = await session(cookie);
    assert.equal(dead.status, 401);
    assert.equal(dead.body.error.code, 'session_expired');
  });

  it('locks an account after 5 failures within 15 minutes, not after 5 spread wider, and unlocks 15 minutes later', async () => {
    const user = await createStaffUser(platform);
    const attempt = (password: string) => fetch(`${baseUrl}/v1/staff/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password }),
    });
    for (let i = 0; i < 4; i++) assert.equal((await attempt('wrong')).status, 401);
    advance(16 * MIN);
    for (let i = 0; i < 4; i++) assert.equal((await attempt('wrong')).status, 401);
    assert.equal((await attempt(user.password)).status, 200, 'eight failures, but never five within 15 minutes');
    advance(1_000);
    for (let i = 0; i < 5; i++) assert.equal((await attempt('wrong')).status, 401);
    const locked = await attempt(user.password);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), String(15 * 60));
    advance(15 * MIN);
    assert.equal((await attempt('wrong')).status, 401, 'a failure after the lockout starts a new count');
    assert.equal((await attempt(user.password)).status, 200);
  });

  it('the worker purges sessions dead for over a day and expired SSO flows', async () => {
    const cookie = await login();
    const { body } = await session(cookie);
    await platform.database.db.insertInto('staff_oidc_flows').values({
      state_hash: `test-${Date.now()}`, code_verifier: 'v', nonce: 'n', return_to: '/console/', created_at: clock, expires_at: new Date(clock.getTime() + 10 * MIN),
    }).execute();
    const job = staffPurgeJob({ db: platform.database.db, now: () => clock });
    await job.runOnce();
    assert.ok(await platform.database.db.selectFrom('staff_sessions').select('id').where('id', '=', body.id).executeTakeFirst(), 'a live session stays');
    advance(12 * 60 * MIN + 25 * 60 * MIN);
    await job.runOnce();
    assert.equal(await platform.database.db.selectFrom('staff_sessions').select('id').where('id', '=', body.id).executeTakeFirst(), undefined);
    assert.equal((await platform.database.db.selectFrom('staff_oidc_flows').select('state_hash').where('expires_at', '<', clock).execute()).length, 0);
  });
});
