/**
 * The verifier remembers tokens that passed every check, so a client's repeated token costs no signature check.
 * What it remembers must never outlive what a full verification would accept: the token's own time limits, its
 * exact text (signature included) and the key that verified it. (Retirement of that key through the admin API,
 * after its tokens were remembered, is covered in key-rotation.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createAccessTokenVerifier } from '../../src/modules/auth/index.js';
import { AppError } from '../../src/platform/errors.js';
import { activeSigningKey, adminClaims, attackerKey, sign } from './forge.js';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform();
});
after(() => platform.close());

function settings() {
  return { issuer: platform.config.issuerUrl, audience: platform.config.audience, ttlSeconds: platform.config.accessTokenTtlSeconds };
}

async function rejection(verify: Promise<unknown>): Promise<string> {
  const err = await verify.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
  assert.equal(err.code, 'invalid_token');
  return err.message;
}

describe('verified tokens remembered by the verifier', () => {
  it('a remembered token is refused once its exp (plus the 30 s tolerance) has passed', async () => {
    let nowMs = Date.now();
    const verify = createAccessTokenVerifier(platform.api.services.keys, settings(), { now: () => nowMs });
    const t = Math.floor(nowMs / 1000);
    const token = await sign(await activeSigningKey(platform), adminClaims(platform, { iat: t, nbf: t, exp: t + 60 }));
    assert.equal((await verify(token)).clientId, 'platform-admin');
    nowMs = (t + 60 + 29) * 1000; // within the tolerance: still accepted, from memory
    assert.equal((await verify(token)).clientId, 'platform-admin');
    nowMs = (t + 60 + 30) * 1000;
    assert.match(await rejection(verify(token)), /token expired/);
    // and it stays refused (the refusal is not remembered as a success, nor the old success kept)
    assert.match(await rejection(verify(token)), /token expired/);
  });

  it('the same header and claims with another signature are verified on their own, and refused', async () => {
    const verify = createAccessTokenVerifier(platform.api.services.keys, settings());
    const real = await activeSigningKey(platform);
    const claims = adminClaims(platform);
    const genuine = await sign(real, claims);
    assert.equal((await verify(genuine)).clientId, 'platform-admin');
    const forged = await sign(await attackerKey(real.kid), claims);
    assert.equal(forged.split('.').slice(0, 2).join('.'), genuine.split('.').slice(0, 2).join('.'), 'only the signature differs');
    assert.match(await rejection(verify(forged)), /signature verification failed/);
    assert.equal((await verify(genuine)).clientId, 'platform-admin');
  });

  it('a refused token is not remembered: the same text is checked again, and refused again', async () => {
    const verify = createAccessTokenVerifier(platform.api.services.keys, settings());
    const forged = await sign(await attackerKey((await activeSigningKey(platform)).kid), adminClaims(platform));
    assert.match(await rejection(verify(forged)), /signature verification failed/);
    assert.match(await rejection(verify(forged)), /signature verification failed/);
  });
});
