/**
 * Bearer token verification on /v1 routes (RFC 6750, RFC 9068): every forged, stale or misaddressed token is a
 * 401 invalid_token; a missing one a bare Bearer challenge; a valid one without the route's scope a 403.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import { startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.js';
import { adminToken, createTenant, getToken, type TestTenant } from '../helpers/tenants.js';
import { createHttpApp, type HttpApp } from '../../src/platform/http/app.js';
import { registerAuthHook, requireTenant } from '../../src/platform/http/auth-hook.js';
import { routeSecurity } from '../../src/platform/http/scopes.js';
import { createAccessTokenVerifier } from '../../src/modules/auth/index.js';
import {
  activeSigningKey, adminClaims, attackerKey, decodePayload, hs256Token, sign, unsignedToken, withPayload, type SigningKey,
} from './forge.js';

const ROUTE = '/v1/admin/signing_keys';
const INVALID_TOKEN = /^Bearer realm="nimbuspay", error="invalid_token"/;

let platform: TestPlatform;
let real: Awaited<ReturnType<typeof activeSigningKey>>;
let acme: TestTenant;

before(async () => {
  platform = await startTestPlatform();
  real = await activeSigningKey(platform);
  acme = await createTenant(platform, { name: 'Acme', scopes: ['payments:read'] });
});
after(() => platform.close());

const now = () => Math.floor(Date.now() / 1000);

function assertInvalidToken(res: TestResponse, label: string) {
  assert.equal(res.status, 401, `${label}: ${res.text}`);
  assert.match(res.headers.get('www-authenticate') ?? '', INVALID_TOKEN, label);
  assert.equal(res.body.error.code, 'invalid_token', label);
  assert.equal(res.body.error.type, 'authentication_error', label);
  assert.equal(typeof res.body.error.request_id, 'string', label);
}

const call = (token: string) => platform.request('GET', ROUTE, { token });

describe('baseline: the forgery kit makes tokens the API accepts', () => {
  it('a token signed with the real key and valid claims is accepted (so rejections below are meaningful)', async () => {
    const res = await call(await sign(real, adminClaims(platform)));
    assert.equal(res.status, 200, res.text);
  });

  it('the stored private key is encrypted at rest (no JWK "d" in the row)', async () => {
    const row = await platform.database.db.selectFrom('signing_keys').select('private_key_enc').where('kid', '=', real.kid).executeTakeFirstOrThrow();
    assert.match(row.private_key_enc, /^v1\./);
    assert.equal(row.private_key_enc.includes(String(real.privateJwk.d)), false);
  });

  it('clock skew up to 30 s is tolerated (exp 10 s ago, nbf 10 s ahead)', async () => {
    assert.equal((await call(await sign(real, adminClaims(platform, { exp: now() - 10, iat: now() - 310 })))).status, 200);
    assert.equal((await call(await sign(real, adminClaims(platform, { nbf: now() + 10 })))).status, 200);
  });
});

describe('forged and invalid tokens → 401 invalid_token', () => {
  it('alg: none', async () => {
    for (const header of [{ alg: 'none', typ: 'at+jwt', kid: real.kid }, { alg: 'none', typ: 'at+jwt' }, { alg: 'NONE', typ: 'at+jwt', kid: real.kid }]) {
      assertInvalidToken(await call(unsignedToken(header, adminClaims(platform))), JSON.stringify(header));
    }
  });

  it('HS256 signed with the public key (algorithm confusion)', async () => {
    const pem = createPublicKey({ key: real.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const jwkJson = JSON.stringify(real.publicJwk);
    for (const secret of [pem, jwkJson, Buffer.from(String(real.publicJwk.x), 'base64url')]) {
      assertInvalidToken(await call(hs256Token(secret, { typ: 'at+jwt', kid: real.kid }, adminClaims(platform))), 'HS256');
    }
  });

  it('tampered claims keep the old signature → signature mismatch', async () => {
    const token = await sign(real, adminClaims(platform, { scope: 'payments:read' }));
    assert.equal((await call(token)).status, 403, 'untampered token lacks the scope');
    const tampered = withPayload(token, { ...decodePayload(token), scope: 'platform:admin' });
    assertInvalidToken(await call(tampered), 'tampered scope');
    const tenantToken = await getToken(platform, acme.clientId, acme.clientSecret);
    const elevated = withPayload(tenantToken, { ...decodePayload(tenantToken), scope: 'platform:admin', tenant_id: undefined });
    assertInvalidToken(await call(elevated), 'tenant token tampered into an admin token');
  });

  it('expired beyond the tolerance', async () => {
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { iat: now() - 400, nbf: now() - 400, exp: now() - 60 }))), 'expired');
  });

  it('not yet valid: nbf more than 30 s ahead; iat in the future', async () => {
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { nbf: now() + 120 }))), 'nbf');
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { iat: now() + 120, nbf: undefined, exp: now() + 400 }))), 'iat');
  });

  it('older than the configured token lifetime allows (iat far in the past, exp still ahead)', async () => {
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { iat: now() - 3 * 3600, nbf: now() - 3 * 3600, exp: now() + 300 }))), 'maxTokenAge');
  });

  it('a lifetime (exp − iat) longer than the configured 900 s (+30 s skew) is refused, however fresh the token', async () => {
    const ttl = platform.config.accessTokenTtlSeconds;
    assert.equal(ttl, 900);
    const yearLong = await call(await sign(real, adminClaims(platform, { exp: now() + 365 * 86_400 })));
    assertInvalidToken(yearLong, 'exp a year ahead');
    assert.match(yearLong.body.error.message, /lifetime exceeds the maximum/);
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { exp: now() + ttl + 31 }))), 'just over lifetime + skew');
    // iat old enough to pass the age check, exp far enough ahead that the whole lifetime is too long
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { iat: now() - 600, nbf: now() - 600, exp: now() + 600 }))), 'exp − iat = 1200 s');
    // what the token endpoint issues, and the skew on top, are accepted
    assert.equal((await call(await sign(real, adminClaims(platform, { exp: now() + ttl })))).status, 200);
    const iat = now();
    assert.equal((await call(await sign(real, adminClaims(platform, { iat, nbf: iat, exp: iat + ttl + 30 })))).status, 200);
  });

  it('wrong iss, wrong aud', async () => {
    for (const iss of ['https://evil.example', `${platform.config.issuerUrl}/`, undefined]) {
      assertInvalidToken(await call(await sign(real, adminClaims(platform, { iss }))), `iss ${iss}`);
    }
    for (const aud of ['another-api', ['another-api'], undefined]) {
      assertInvalidToken(await call(await sign(real, adminClaims(platform, { aud }))), `aud ${JSON.stringify(aud)}`);
    }
  });

  it('wrong or missing typ (an ID token or a plain JWT is not an access token)', async () => {
    for (const typ of ['JWT', 'id_token+jwt', undefined]) {
      assertInvalidToken(await call(await sign(real, adminClaims(platform), { typ })), `typ ${typ}`);
    }
  });

  it('missing required claims, or sub ≠ client_id', async () => {
    for (const claim of ['exp', 'iat', 'jti', 'sub', 'client_id', 'scope']) {
      assertInvalidToken(await call(await sign(real, adminClaims(platform, { [claim]: undefined }))), `without ${claim}`);
    }
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { sub: 'someone-else' }))), 'sub mismatch');
    assertInvalidToken(await call(await sign(real, adminClaims(platform, { tenant_id: 42 }))), 'non-string tenant_id');
  });

  it('unknown kid (attacker key), missing kid, and the real kid with the wrong key', async () => {
    const mine: SigningKey = await attackerKey();
    assertInvalidToken(await call(await sign(mine, adminClaims(platform))), 'unknown kid');
    assertInvalidToken(await call(await sign(real, adminClaims(platform), { kid: undefined })), 'no kid');
    const impostor = await attackerKey(real.kid);
    assertInvalidToken(await call(await sign(impostor, adminClaims(platform))), 'real kid, wrong key');
  });

  it('another algorithm with an attacker key (ES384) is refused', async () => {
    const { generateKeyPair, SignJWT } = await import('jose');
    const { privateKey } = await generateKeyPair('ES384');
    const token = await new SignJWT(adminClaims(platform)).setProtectedHeader({ alg: 'ES384', typ: 'at+jwt', kid: real.kid }).sign(privateKey);
    assertInvalidToken(await call(token), 'ES384');
  });

  it('garbage and malformed tokens', async () => {
    for (const token of ['abc', 'a.b.c', 'a.b', `${'x'.repeat(40)}..`, 'eyJhbGciOiJFUzI1NiJ9.e30.']) {
      assertInvalidToken(await call(token), token);
    }
    const res = await platform.request('GET', ROUTE, { headers: { authorization: 'Bearer two words' } });
    assertInvalidToken(res, 'space inside the token');
  });

  it('oversized token (> 8 KiB) and oversized protected header', async () => {
    assertInvalidToken(await call(`${'a'.repeat(9000)}.b.c`), 'oversized token');
    const bigHeader = await sign(await attackerKey(), adminClaims(platform), { pad: 'x'.repeat(6000) });
    assertInvalidToken(await call(bigHeader), 'oversized header, attacker key');
    // a header beyond Node's HTTP limit never reaches the app
    const huge = await fetch(`${platform.baseUrl}${ROUTE}`, { headers: { authorization: `Bearer ${'a'.repeat(20_000)}` } });
    assert.equal(huge.status, 431);
  });

  it('the error description never echoes the token', async () => {
    const token = await sign(await attackerKey(), adminClaims(platform));
    const res = await call(token);
    assert.equal(res.text.includes(token), false);
    assert.equal((res.headers.get('www-authenticate') ?? '').includes(token), false);
  });
});

describe('where the token may come from', () => {
  it('no token → 401 with a bare Bearer challenge', async () => {
    const res = await platform.request('GET', ROUTE);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="nimbuspay"');
    assert.equal(res.body.error.code, 'authentication_required');
  });

  it('a token in the query string or the body is not accepted', async () => {
    const token = await adminToken(platform);
    const q = await platform.request('GET', `${ROUTE}?access_token=${token}`);
    assert.equal(q.status, 401);
    assert.equal(q.headers.get('www-authenticate'), 'Bearer realm="nimbuspay"');
    const form = await platform.request('POST', '/v1/admin/tenants', {
      rawBody: `access_token=${token}&name=x`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 401);
    const json = await platform.request('POST', '/v1/admin/tenants', { body: { access_token: token, name: 'x' } });
    assert.equal(json.status, 401);
  });

  it('other schemes are not bearer tokens: Basic with the admin credentials → 401', async () => {
    const res = await platform.request('GET', ROUTE, {
      headers: { authorization: `Basic ${Buffer.from('platform-admin:test-admin-secret-0123456789abcdef').toString('base64')}` },
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="nimbuspay"');
  });

  it('the scheme name is case-insensitive (RFC 7235)', async () => {
    const token = await adminToken(platform);
    const res = await platform.request('GET', ROUTE, { headers: { authorization: `bearer ${token}` } });
    assert.equal(res.status, 200);
  });
});

describe('scope enforcement', () => {
  it('a valid token without the route\'s scope → 403 insufficient_scope naming the scope', async () => {
    const res = await platform.request('POST', '/v1/admin/signing_keys/rotate', { token: acme.token, body: {} });
    assert.equal(res.status, 403, res.text);
    assert.equal(res.body.error.code, 'insufficient_scope');
    assert.equal(res.body.error.type, 'permission_error');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="nimbuspay", error="insufficient_scope", scope="platform:admin"');
  });

  it('a token with the scope but a real key forged for a tenant client cannot reach admin routes with a tenant scope', async () => {
    const token = await sign(real, adminClaims(platform, { scope: 'payments:read payments:write', tenant_id: acme.tenantId, sub: acme.clientId, client_id: acme.clientId }));
    const res = await call(token);
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /scope="platform:admin"/);
  });
});

describe('tenant-scoped routes (probe route on the real hook and verifier)', () => {
  // No tenant-owned /v1 route exists yet; this probe is registered exactly as module routes are, on the real
  // auth hook with the platform's key cache, to show where a route's tenant comes from.
  let probe: HttpApp;
  let probeUrl: string;
  before(async () => {
    probe = await createHttpApp({ logger: platform.logger, bodyLimitBytes: 65536, publicUrl: 'http://probe', title: 'probe' });
    registerAuthHook(probe, createAccessTokenVerifier(platform.api.services.keys, {
      issuer: platform.config.issuerUrl, audience: platform.config.audience, ttlSeconds: platform.config.accessTokenTtlSeconds,
    }));
    const echo = (request: { auth: Parameters<typeof requireTenant>[0] }) => ({ tenant_id: requireTenant(request.auth).tenantId });
    probe.get('/v1/probe', { schema: { ...routeSecurity('payments:read') } }, async (request) => echo(request));
    probe.post('/v1/probe', {
      schema: { ...routeSecurity('payments:write'), body: Type.Object({ amount: Type.Integer() }, { additionalProperties: false }) },
    }, async (request) => echo(request));
    await probe.listen({ port: 0, host: '127.0.0.1' });
    probeUrl = `http://127.0.0.1:${(probe.server.address() as AddressInfo).port}`;
  });
  after(() => probe.close());

  it('the tenant comes only from the token: tenant_id in query or headers is ignored', async () => {
    const other = await createTenant(platform, { name: 'Other' });
    const res = await fetch(`${probeUrl}/v1/probe?tenant_id=${other.tenantId}`, {
      headers: { authorization: `Bearer ${acme.token}`, 'x-tenant-id': other.tenantId, 'tenant-id': other.tenantId, 'nimbuspay-tenant': other.tenantId },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { tenant_id: acme.tenantId });
  });

  it('a tenant_id in a body is rejected as an unknown parameter (bodies are closed)', async () => {
    const t = await createTenant(platform, { name: 'Writer', scopes: ['payments:write'] });
    const res = await fetch(`${probeUrl}/v1/probe`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 100, tenant_id: acme.tenantId }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; param: string } };
    assert.equal(body.error.code, 'parameter_unknown');
    assert.equal(body.error.param, 'tenant_id');
    const ok = await fetch(`${probeUrl}/v1/probe`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 100 }),
    });
    assert.deepEqual(await ok.json(), { tenant_id: t.tenantId });
  });

  it('payments:read only → 403 on a payments:write route, naming payments:write', async () => {
    const res = await fetch(`${probeUrl}/v1/probe`, {
      method: 'POST', headers: { authorization: `Bearer ${acme.token}`, 'content-type': 'application/json' }, body: '{"amount":1}',
    });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="nimbuspay", error="insufficient_scope", scope="payments:write"');
  });

  it('a platform token (no tenant) cannot act on a tenant route, even with the scope', async () => {
    const token = await sign(real, adminClaims(platform, { scope: 'payments:read' }));
    const res = await fetch(`${probeUrl}/v1/probe`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 403);
  });

  it('admin routes reject tenant_id in their query and body too', async () => {
    const admin = await adminToken(platform);
    const q = await platform.request('GET', `/v1/admin/tenants?tenant_id=${acme.tenantId}`, { token: admin });
    assert.equal(q.status, 400);
    assert.equal(q.body.error.param, 'tenant_id');
    const b = await platform.request('POST', '/v1/admin/tenants', { token: admin, body: { name: 'X', tenant_id: acme.tenantId } });
    assert.equal(b.status, 400);
    assert.equal(b.body.error.param, 'tenant_id');
  });
});
