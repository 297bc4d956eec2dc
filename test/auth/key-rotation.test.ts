/**
 * Signing key rotation: a new key is published before it signs, tokens of both keys verify during the overlap,
 * and the old key's tokens fail once it retires. Time is moved by calling the key lifecycle with explicit
 * instants (the same function every replica runs on its cache refresh), so the test needs no sleeps.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { adminToken } from '../helpers/tenants.js';
import { createKeyCache, issueAccessToken, maintainSigningKeys, rotateSigningKey } from '../../src/modules/auth/index.js';
import { keyLifecycle } from '../../src/main/modules.js';
import { eventually } from '../helpers/eventually.js';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform();
});
after(() => platform?.close());

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function jwks(): Promise<JSONWebKeySet> {
  const res = await platform.request('GET', '/.well-known/jwks.json');
  assert.equal(res.status, 200);
  return res.body as JSONWebKeySet;
}

async function keyStatuses(admin: string): Promise<Record<string, string>> {
  const res = await platform.request('GET', '/v1/admin/signing_keys', { token: admin });
  assert.equal(res.status, 200, res.text);
  return Object.fromEntries((res.body.data as Array<{ kid: string; status: string }>).map((k) => [k.kid, k.status]));
}

const verifies = async (token: string) => (await platform.request('GET', '/v1/admin/signing_keys', { token })).status;

function verifyWith(set: JSONWebKeySet, token: string) {
  return jwtVerify(token, createLocalJWKSet(set), { issuer: platform.baseUrl, audience: 'nimbuspay-api', typ: 'at+jwt' });
}

describe('signing key rotation through the admin API', () => {
  it('publishes the new key first, overlaps both, then retires the old one', async () => {
    const life = keyLifecycle(platform.config);
    const { keyRing, keys } = platform.api.services;

    const oldToken = await adminToken(platform);
    const oldKid = kidOf(oldToken)!;
    const admin = oldToken;
    assert.deepEqual((await jwks()).keys.map((k) => k.kid), [oldKid]);

    // 1. rotate: the new key is published at once but does not sign yet
    const asked = Date.now();
    const rot = await platform.request('POST', '/v1/admin/signing_keys/rotate', { token: admin, body: { activation_delay_seconds: 300 } });
    const answered = Date.now();
    assert.equal(rot.status, 200, rot.text);
    const newKid = rot.body.kid as string;
    assert.notEqual(newKid, oldKid);
    assert.equal(rot.body.status, 'next');
    // 300 s after the request was handled, however long a busy machine took to handle it (1 s for clock rounding)
    const activateAfter = Date.parse(rot.body.activate_after);
    assert.ok(activateAfter >= asked + 300_000 - 1_000 && activateAfter <= answered + 300_000 + 1_000, rot.body.activate_after);
    const published = await jwks();
    assert.deepEqual(published.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
    for (const k of published.keys) {
      assert.equal(k.alg, 'ES256');
      assert.equal(k.use, 'sig');
      assert.equal(k.kty, 'EC');
      assert.equal('d' in k, false, 'no private material in the JWKS');
    }
    assert.equal(kidOf(await adminToken(platform)), oldKid, 'the next key does not sign before activate_after');
    assert.deepEqual(await keyStatuses(admin), { [oldKid]: 'active', [newKid]: 'next' });

    // 2. activate_after passes (as any replica's cache refresh would do): the new key signs, the old one is retiring
    // (the instants come from the answer, not from this machine's clock before the call)
    const activatedAt = activateAfter + 1_000;
    await maintainSigningKeys(platform.database.db, keyRing, life, new Date(activatedAt));
    await keys.refresh();
    const newToken = await adminToken(platform);
    assert.equal(kidOf(newToken), newKid);
    const statuses = await keyStatuses(admin);
    assert.deepEqual(statuses, { [oldKid]: 'retiring', [newKid]: 'active' });
    const oldRow = (await platform.request('GET', '/v1/admin/signing_keys', { token: newToken })).body.data.find((k: { kid: string }) => k.kid === oldKid);
    const retireAfter = Date.parse(oldRow.retire_after);
    const minimum = activatedAt + (platform.config.accessTokenTtlSeconds + 30) * 1000;
    assert.ok(retireAfter >= minimum, 'the old key stays published until every token it signed has expired');

    // overlap: tokens of both keys verify, on the API and for an outside verifier using the JWKS
    assert.equal(await verifies(oldToken), 200);
    assert.equal(await verifies(newToken), 200);
    const overlap = await jwks();
    await verifyWith(overlap, oldToken);
    await verifyWith(overlap, newToken);

    // 3. past retire_after: the old key leaves the JWKS and its tokens (not yet expired by their own exp) fail
    await maintainSigningKeys(platform.database.db, keyRing, life, new Date(retireAfter + 1000));
    await keys.refresh();
    const after = await jwks();
    assert.deepEqual(after.keys.map((k) => k.kid), [newKid]);
    assert.ok(Date.now() / 1000 < decodeJwt(oldToken).exp!, 'the old token has not expired by itself');
    const res = await platform.request('GET', '/v1/admin/signing_keys', { token: oldToken });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    await assert.rejects(verifyWith(after, oldToken));
    await assert.rejects(
      jwtVerify(oldToken, createRemoteJWKSet(new URL(`${platform.baseUrl}/.well-known/jwks.json`)), { issuer: platform.baseUrl }),
    );
    assert.equal(await verifies(newToken), 200);
    assert.equal((await keyStatuses(newToken))[oldKid], 'retired');
  });

  it('activation_delay_seconds: 0 signs with the new key at once', async () => {
    const admin = await adminToken(platform);
    const rot = await platform.request('POST', '/v1/admin/signing_keys/rotate', { token: admin, body: { activation_delay_seconds: 0 } });
    assert.equal(rot.status, 200, rot.text);
    assert.equal(rot.body.status, 'active');
    const token = await adminToken(platform);
    assert.equal(kidOf(token), rot.body.kid);
    assert.equal(await verifies(admin), 200, 'the previous key still verifies');
    assert.equal(await verifies(token), 200);
  });

  it('rejects a bad activation delay and needs platform:admin', async () => {
    const admin = await adminToken(platform);
    for (const body of [{ activation_delay_seconds: -1 }, { activation_delay_seconds: 100_000 }, { activation_delay_seconds: 5, extra: 1 }]) {
      assert.equal((await platform.request('POST', '/v1/admin/signing_keys/rotate', { token: admin, body })).status, 400);
    }
    assert.equal((await platform.request('POST', '/v1/admin/signing_keys/rotate', { body: {} })).status, 401);
  });
});

describe('rotation needs no restart: another replica promotes and signs', () => {
  it('the API verifies a token signed by a key it has never seen, after one refresh', async () => {
    const life = keyLifecycle(platform.config);
    const { keyRing } = platform.api.services;
    const db = platform.database.db;
    // "replica B": its own key cache over the same database
    const replicaB = createKeyCache({ db, keyRing, life, logger: platform.logger, cacheTtlMs: 30_000 });
    const rotated = await rotateSigningKey(db, keyRing, life, 0);
    await replicaB.refresh();
    const settings = { issuer: platform.config.issuerUrl, audience: platform.config.audience, ttlSeconds: platform.config.accessTokenTtlSeconds };
    const { token } = await issueAccessToken(replicaB, settings, { clientId: 'platform-admin', tenantId: null, scopes: ['platform:admin'] });
    assert.equal(kidOf(token), rotated.kid);
    // An unknown kid refreshes the cache at most once a second, and earlier tests in this file may have just used
    // that second: the API must accept the token as soon as the limit lets it look (a refused try does not extend it).
    await eventually(async () => (await verifies(token)) === 200, { timeoutMs: 15_000, what: 'the API verifying a token of a key it had never seen' });
  });
});

describe('two rotations before the first activates', () => {
  it('the newest key wins and stays active; the superseded next key never signs', async () => {
    const life = keyLifecycle(platform.config);
    const { keyRing } = platform.api.services;
    const db = platform.database.db;
    const t0 = Date.now();
    const first = await rotateSigningKey(db, keyRing, life, 60, new Date(t0));
    const second = await rotateSigningKey(db, keyRing, life, 60, new Date(t0 + 1000));
    await maintainSigningKeys(db, keyRing, life, new Date(t0 + 120_000));
    const active = async () => (await db.selectFrom('signing_keys').select('kid').where('status', '=', 'active').executeTakeFirstOrThrow()).kid;
    assert.equal(await active(), second.kid);
    // every replica keeps running the lifecycle on its cache refresh: the active key must not flip back
    await maintainSigningKeys(db, keyRing, life, new Date(t0 + 150_000));
    await maintainSigningKeys(db, keyRing, life, new Date(t0 + 180_000));
    assert.equal(await active(), second.kid);
    const firstRow = await db.selectFrom('signing_keys').select(['status', 'activated_at']).where('kid', '=', first.kid).executeTakeFirstOrThrow();
    assert.equal(firstRow.activated_at, null, 'the superseded key never signed');
    assert.notEqual(firstRow.status, 'next');
  });
});
