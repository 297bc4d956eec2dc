/**
 * Client authentication at the token endpoint, below the HTTP layer and through it: how secrets are stored (a keyed
 * hash; legacy scrypt hashes still verify and are replaced at their next success), the per-address and per-client
 * attempt reservations on an injected clock, the refund when hash work is refused, and the purge of old rows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKeyRing, hashClientSecret, hashSecret, type KeyRing } from '../../src/platform/crypto.js';
import { Secret } from '../../src/platform/secret.js';
import { withCrossTenantTx } from '../../src/platform/db.js';
import { replaceLegacySecretHash } from '../../src/modules/tenants/tenants.repository.js';
import { authenticateTokenClient, clientAuthPurgeJob, type ClientAuthDeps, type ThrottlePolicy } from '../../src/modules/auth/client-auth.service.js';
import { WorkLimitBusyError, createWorkLimit, type WorkLimit } from '../../src/platform/work-limit.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { ADMIN_CLIENT_ID, ADMIN_SECRET, createTenant, getToken } from '../helpers/tenants.js';

let platform: TestPlatform;
let owner: pg.Client;
let keyRing: KeyRing;

before(async () => {
  platform = await startTestPlatform();
  owner = new pg.Client({ connectionString: platform.db.ownerUrl });
  await owner.connect();
  keyRing = createKeyRing(new Secret(platform.config.masterKey!));
});
after(async () => {
  await owner?.end();
  await platform?.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const tokenRequest = (id: string, secret: string) =>
  platform.request('POST', '/oauth/token', {
    rawBody: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
  });
const storedHash = async (clientId: string) =>
  (await owner.query<{ secret_hash: string }>('select secret_hash from api_clients where id = $1', [clientId])).rows[0]!.secret_hash;
const randomId = () => `client_${randomBytes(8).toString('hex')}`;
const randomSource = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}:${randomBytes(4).toString('hex')}`;

describe('client secret storage', () => {
  it('new, rotated and platform-admin secrets are stored as HMAC-SHA-256 under the derived key, never scrypt', async () => {
    const t = await createTenant(platform, { name: 'Keyed Co' });
    assert.equal(await storedHash(t.clientId), hashClientSecret(keyRing, new Secret(t.clientSecret)));
    assert.match(await storedHash(t.clientId), /^hmac-sha256\$v1\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await storedHash(ADMIN_CLIENT_ID), hashClientSecret(keyRing, new Secret(ADMIN_SECRET)));
    const admin = await getToken(platform, ADMIN_CLIENT_ID, ADMIN_SECRET);
    const rot = await platform.request('POST', `/v1/admin/tenants/${t.tenantId}/clients/${t.clientId}/rotate_secret`, { token: admin });
    assert.equal(rot.status, 200, rot.text);
    assert.equal(await storedHash(t.clientId), hashClientSecret(keyRing, new Secret(rot.body.client_secret)));
  });

  it('a legacy scrypt hash still verifies, and its first success replaces it with the keyed hash', async () => {
    const t = await createTenant(platform, { name: 'Legacy Co' });
    const legacy = await hashSecret(new Secret(t.clientSecret));
    await owner.query('update api_clients set secret_hash = $1 where id = $2', [legacy, t.clientId]);

    const wrong = await tokenRequest(t.clientId, `${t.clientSecret}x`);
    assert.equal(wrong.status, 401, wrong.text);
    assert.equal(await storedHash(t.clientId), legacy, 'a failed attempt changes nothing');

    const right = await tokenRequest(t.clientId, t.clientSecret);
    assert.equal(right.status, 200, right.text);
    assert.equal(await storedHash(t.clientId), hashClientSecret(keyRing, new Secret(t.clientSecret)));
    assert.equal((await tokenRequest(t.clientId, t.clientSecret)).status, 200, 'the keyed hash verifies the same secret');
    const rotatedAt = (await owner.query('select secret_rotated_at from api_clients where id = $1', [t.clientId])).rows[0].secret_rotated_at;
    assert.equal(rotatedAt, null, 'an upgrade is not a rotation');
  });

  it('the upgrade never overwrites a hash that changed after it was read (a rotation in between wins)', async () => {
    const t = await createTenant(platform, { name: 'Raced Co' });
    const current = await storedHash(t.clientId);
    const replaced = await withCrossTenantTx(platform.database.db, (tx) =>
      replaceLegacySecretHash(tx, t.clientId, 'scrypt$16384$8$1$stale$stale', hashClientSecret(keyRing, new Secret('ncs_old'))));
    assert.equal(replaced, false);
    assert.equal(await storedHash(t.clientId), current);
  });
});

describe('unknown client ids cost and answer exactly what a wrong secret costs and answers', () => {
  it('same status, body and headers; both leave the same failure row', async () => {
    const t = await createTenant(platform, { name: 'Known Co' });
    const unknownId = randomId();
    const known = await tokenRequest(t.clientId, 'ncs_wrong');
    const unknown = await tokenRequest(unknownId, 'ncs_wrong');
    assert.equal(known.status, 401);
    assert.equal(unknown.status, known.status);
    assert.deepEqual(unknown.body, known.body);
    for (const h of ['www-authenticate', 'cache-control', 'pragma', 'content-type']) assert.equal(unknown.headers.get(h), known.headers.get(h), h);
    const rows = await owner.query<{ client_id: string; failures: number }>(
      'select client_id, failures from client_auth_failures where client_id = any($1) order by client_id', [[t.clientId, unknownId]]);
    assert.deepEqual(rows.rows.map((r) => r.failures), [1, 1]);
  });
});

describe('attempt reservations (real database, injected clock)', () => {
  const policy: ThrottlePolicy = {
    client: { maxFailures: 2, windowMs: 60_000, lockMs: 10_000 },
    address: { maxFailures: 4, windowMs: 60_000, lockMs: 30_000 },
  };
  let clock = new Date('2030-01-01T00:00:00Z');
  let deps: ClientAuthDeps;
  before(() => {
    deps = {
      db: platform.database.db, keyRing, policy, now: () => clock,
      hashWork: createWorkLimit({ concurrency: 1, maxQueued: 8, order: 'fifo' }),
      admission: createWorkLimit({ concurrency: 4, maxQueued: 64, order: 'lifo', maxWaitMs: 2_000 }),
    };
  });
  const at = (ms: number) => {
    clock = new Date(Date.parse('2030-01-01T00:00:00Z') + ms);
  };
  const outcome = async (clientId: string, secret: string, source: string) => (await authenticateTokenClient(deps, clientId, secret, source)).outcome;

  it('an address: locked at its limit for lockMs, then one attempt per lock until the window ends', async () => {
    const source = randomSource();
    at(0);
    for (let i = 0; i < 4; i++) assert.equal(await outcome(randomId(), 'x', source), 'invalid_client', `attempt ${i + 1}`);
    const locked = await authenticateTokenClient(deps, randomId(), 'x', source);
    assert.deepEqual(locked, { outcome: 'throttled', by: 'address', retryAfterSeconds: 30 });
    at(29_000);
    assert.equal(await outcome(randomId(), 'x', source), 'throttled');
    at(31_000);
    assert.equal(await outcome(randomId(), 'x', source), 'invalid_client', 'the lock is over');
    assert.equal(await outcome(randomId(), 'x', source), 'throttled', 'still over the limit in this window: locked again');
    at(61_000 + 30_000);
    for (let i = 0; i < 4; i++) assert.equal(await outcome(randomId(), 'x', source), 'invalid_client', `new window, attempt ${i + 1}`);
  });

  it('a success gives its attempt back to the address and clears the client id\'s failures', async () => {
    const t = await createTenant(platform, { name: 'Refund Co' });
    const source = randomSource();
    at(200_000);
    assert.equal(await outcome(t.clientId, 'wrong', source), 'invalid_client');
    assert.equal(await outcome(randomId(), 'wrong', source), 'invalid_client');
    // without the refund, the address would reach its limit at the second success
    for (let i = 0; i < 5; i++) assert.equal(await outcome(t.clientId, t.clientSecret, source), 'authenticated', `success ${i + 1}`);
    const rows = await owner.query('select 1 from client_auth_failures where client_id = $1 and source = $2', [t.clientId, source]);
    assert.equal(rows.rowCount, 0, "the client id's failures from this address are forgotten");
    assert.equal(await outcome(randomId(), 'wrong', source), 'invalid_client');
    assert.equal(await outcome(randomId(), 'wrong', source), 'invalid_client', "the address's 4th failure: locked");
    assert.deepEqual(await authenticateTokenClient(deps, t.clientId, t.clientSecret, source), { outcome: 'throttled', by: 'address', retryAfterSeconds: 30 },
      'no hash work from a locked address, even for the right secret');
  });

  it('a client id from an address: locked after its limit; that id from another address and other ids are not', async () => {
    const t = await createTenant(platform, { name: 'Locked Co' });
    const [a, b] = [randomSource(), randomSource()];
    at(400_000);
    assert.equal(await outcome(t.clientId, 'wrong', a), 'invalid_client');
    assert.equal(await outcome(t.clientId, 'wrong', a), 'invalid_client');
    assert.deepEqual(await authenticateTokenClient(deps, t.clientId, t.clientSecret, a), { outcome: 'throttled', by: 'client', retryAfterSeconds: 10 });
    assert.equal(await outcome(t.clientId, t.clientSecret, b), 'authenticated');
    at(411_000);
    assert.equal(await outcome(t.clientId, t.clientSecret, a), 'authenticated', 'after the lock');
  });

  it('hash work refused for capacity counts against nobody: busy, and both reservations are given back', async () => {
    const t = await createTenant(platform, { name: 'Busy Co' });
    await owner.query('update api_clients set secret_hash = $1 where id = $2', [await hashSecret(new Secret(t.clientSecret)), t.clientId]);
    const refusing: WorkLimit = { run: async () => { throw new WorkLimitBusyError(); }, load: () => ({ running: 1, queued: 8 }) };
    const source = randomSource();
    at(600_000);
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(await authenticateTokenClient({ ...deps, hashWork: refusing }, t.clientId, 'wrong', source), { outcome: 'busy', retryAfterSeconds: 1 });
    }
    const client = await owner.query('select failures from client_auth_failures where client_id = $1 and source = $2', [t.clientId, source]);
    const address = await owner.query('select failures, locked_until from client_auth_source_failures where source = $1', [source]);
    assert.equal(client.rows[0].failures, 0);
    assert.deepEqual(address.rows[0], { failures: 0, locked_until: null });
    assert.equal(await outcome(t.clientId, t.clientSecret, source), 'authenticated', 'with capacity, the legacy hash verifies');
  });

  it('refused admission reserves and verifies nothing: busy', async () => {
    const refusing: WorkLimit = { run: async () => { throw new WorkLimitBusyError(); }, load: () => ({ running: 4, queued: 64 }) };
    const source = randomSource();
    at(700_000);
    assert.deepEqual(await authenticateTokenClient({ ...deps, admission: refusing }, randomId(), 'x', source), { outcome: 'busy', retryAfterSeconds: 1 });
    const rows = await owner.query('select 1 from client_auth_source_failures where source = $1 union all select 1 from client_auth_failures where source = $1', [source]);
    assert.equal(rows.rowCount, 0);
  });

  it('the purge job deletes rows whose window and lock have passed, and only those', async () => {
    const [old, locked, fresh] = [randomSource(), randomSource(), randomSource()];
    const oldId = randomId();
    at(1_000_000);
    assert.equal(await outcome(oldId, 'x', old), 'invalid_client');
    at(1_000_000 + 50_000);
    for (let i = 0; i < 4; i++) await outcome(randomId(), 'x', locked); // locked until +80 s, window until +110 s
    at(1_000_000 + 100_000);
    await outcome(randomId(), 'x', fresh);

    const count = async (source: string) => Number((await owner.query(
      `select (select count(*) from client_auth_failures where source = $1) + (select count(*) from client_auth_source_failures where source = $1) as n`,
      [source])).rows[0].n);
    const job = clientAuthPurgeJob({ db: platform.database.db, policy, now: () => new Date(Date.parse('2030-01-01T00:00:00Z') + 1_000_000 + 70_000) });
    assert.equal(job.name, 'purge-client-auth-failures');
    while ((await job.runOnce()) > 0) { /* until a pass deletes nothing */ }
    assert.equal(await count(old), 0, 'window passed, never locked');
    assert.equal(await count(locked), 5, 'in its window and its lock');
    assert.equal(await count(fresh), 2, 'in its window');
    const later = clientAuthPurgeJob({ db: platform.database.db, policy, now: () => new Date(Date.parse('2030-01-01T00:00:00Z') + 1_000_000 + 115_000) });
    while ((await later.runOnce()) > 0) { /* drain */ }
    assert.equal(await count(locked), 0);
    assert.equal(await count(fresh), 2);
  });
});
