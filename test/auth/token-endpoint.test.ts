/**
 * The token endpoint (RFC 6749 §4.4 client credentials, §5.2 errors) driven by an independent client library
 * (openid-client) and by raw HTTP for the malformed requests a library would never send.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { ADMIN_CLIENT_ID, ADMIN_SECRET, adminToken, createTenant, getToken, type TestTenant } from '../helpers/tenants.js';

let platform: TestPlatform;
let acme: TestTenant;

before(async () => {
  platform = await startTestPlatform();
  acme = await createTenant(platform, { name: 'Acme', scopes: ['payments:read', 'payments:write', 'events:read'] });
});
after(() => platform.close());

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function tokenRequest(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${platform.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // asserted by the caller
  }
  return { status: res.status, headers: res.headers, json, text };
}

function assertOAuthError(res: Awaited<ReturnType<typeof tokenRequest>>, status: number, error: string) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error, error, res.text);
  assert.equal(typeof res.json.error_description, 'string');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.json.access_token, undefined);
}

async function discover(clientId: string, auth: oidc.ClientAuth) {
  return oidc.discovery(new URL(platform.baseUrl), clientId, undefined, auth, {
    algorithm: 'oauth2',
    execute: [oidc.allowInsecureRequests],
  });
}

describe('client credentials flow with openid-client', () => {
  it('publishes RFC 8414 metadata that openid-client discovers', async () => {
    const config = await discover(acme.clientId, oidc.ClientSecretBasic(acme.clientSecret));
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, platform.baseUrl);
    assert.equal(meta.token_endpoint, `${platform.baseUrl}/oauth/token`);
    assert.equal(meta.jwks_uri, `${platform.baseUrl}/.well-known/jwks.json`);
    assert.deepEqual(meta.grant_types_supported, ['client_credentials']);
    assert.deepEqual([...(meta.token_endpoint_auth_methods_supported ?? [])].sort(), ['client_secret_basic', 'client_secret_post']);
    assert.ok(meta.scopes_supported?.includes('payments:write'));
  });

  for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
    it(`gets an RFC 9068 access token with ${method} and verifies it against the remote JWKS`, async () => {
      const auth = method === 'client_secret_basic' ? oidc.ClientSecretBasic(acme.clientSecret) : oidc.ClientSecretPost(acme.clientSecret);
      const config = await discover(acme.clientId, auth);
      const before = Math.floor(Date.now() / 1000);
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'payments:read events:read' });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.expires_in, 900);
      assert.equal(tokens.scope, 'payments:read events:read');
      assert.equal(tokens.refresh_token, undefined);

      const header = decodeProtectedHeader(tokens.access_token);
      assert.equal(header.alg, 'ES256');
      assert.equal(header.typ, 'at+jwt');
      assert.equal(typeof header.kid, 'string');

      const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
        issuer: platform.baseUrl, audience: 'nimbuspay-api', typ: 'at+jwt', algorithms: ['ES256'],
      });
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(payload.sub, acme.clientId);
      assert.equal(payload.client_id, acme.clientId);
      assert.equal(payload.tenant_id, acme.tenantId);
      assert.equal(payload.scope, 'payments:read events:read');
      assert.equal(payload.aud, 'nimbuspay-api');
      assert.match(String(payload.jti), /^[A-Za-z0-9_-]{16,}$/);
      assert.equal(payload.exp! - payload.iat!, 900);
      assert.ok(payload.iat! >= before - 1 && payload.iat! <= Math.floor(Date.now() / 1000) + 1);
    });
  }

  it('defaults to all of the client\'s scopes and gives every token its own jti', async () => {
    const config = await discover(acme.clientId, oidc.ClientSecretBasic(acme.clientSecret));
    const a = await oidc.clientCredentialsGrant(config);
    const b = await oidc.clientCredentialsGrant(config);
    assert.equal(a.scope, 'payments:read payments:write events:read');
    const jwks = createRemoteJWKSet(new URL(`${platform.baseUrl}/.well-known/jwks.json`));
    const pa = (await jwtVerify(a.access_token, jwks, { issuer: platform.baseUrl, audience: 'nimbuspay-api' })).payload;
    const pb = (await jwtVerify(b.access_token, jwks, { issuer: platform.baseUrl, audience: 'nimbuspay-api' })).payload;
    assert.notEqual(pa.jti, pb.jti);
  });

  it('issues platform tokens without tenant_id', async () => {
    const token = await adminToken(platform);
    const jwks = createRemoteJWKSet(new URL(`${platform.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, jwks, { issuer: platform.baseUrl, audience: 'nimbuspay-api' });
    assert.equal(payload.client_id, ADMIN_CLIENT_ID);
    assert.equal(payload.scope, 'platform:admin');
    assert.equal('tenant_id' in payload, false);
  });

  it('reports RFC 6749 errors to openid-client as OAuth errors', async () => {
    const wrong = await discover(acme.clientId, oidc.ClientSecretPost('ncs_wrong-secret'));
    await assert.rejects(oidc.clientCredentialsGrant(wrong), (err: unknown) => {
      assert.ok(err instanceof oidc.ResponseBodyError, String(err));
      assert.equal(err.error, 'invalid_client');
      assert.equal(err.status, 401);
      return true;
    });
    const ok = await discover(acme.clientId, oidc.ClientSecretPost(acme.clientSecret));
    await assert.rejects(oidc.clientCredentialsGrant(ok, { scope: 'refunds:write' }), (err: unknown) => {
      assert.ok(err instanceof oidc.ResponseBodyError, String(err));
      assert.equal(err.error, 'invalid_scope');
      assert.equal(err.status, 400);
      return true;
    });
  });
});

describe('token endpoint responses', () => {
  it('answers 200 with no-store, Bearer, expires_in and scope, and no refresh token', async () => {
    const res = await tokenRequest('grant_type=client_credentials', { authorization: basic(acme.clientId, acme.clientSecret) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.deepEqual(Object.keys(res.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(res.json.token_type, 'Bearer');
  });

  it('deduplicates a scope requested twice', async () => {
    const res = await tokenRequest('grant_type=client_credentials&scope=payments%3Aread+payments%3Aread', {
      authorization: basic(acme.clientId, acme.clientSecret),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.scope, 'payments:read');
  });

  it('ignores a tenant_id in the token request: the tenant comes from the client', async () => {
    const other = await createTenant(platform, { name: 'Other' });
    const res = await tokenRequest(`grant_type=client_credentials&tenant_id=${other.tenantId}`, {
      authorization: basic(acme.clientId, acme.clientSecret),
      'x-tenant-id': other.tenantId,
    });
    assert.equal(res.status, 200, res.text);
    const payload = JSON.parse(Buffer.from(String(res.json.access_token).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(payload.tenant_id, acme.tenantId);
  });
});

describe('RFC 6749 §5.2 errors', () => {
  it('invalid_client: wrong secret with Basic → 401 and WWW-Authenticate: Basic', async () => {
    const res = await tokenRequest('grant_type=client_credentials', { authorization: basic(acme.clientId, 'ncs_not-the-secret') });
    assertOAuthError(res, 401, 'invalid_client');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="nimbuspay"/);
  });

  it('invalid_client: wrong secret with client_secret_post → 401 without a Basic challenge', async () => {
    const c = await createTenant(platform, { name: 'Post' });
    const res = await tokenRequest(`grant_type=client_credentials&client_id=${c.clientId}&client_secret=ncs_nope`);
    assertOAuthError(res, 401, 'invalid_client');
    assert.equal(res.headers.get('www-authenticate'), null);
  });

  it('invalid_client: unknown client, no credentials, malformed Basic, missing secret — all alike', async () => {
    const cases = [
      await tokenRequest('grant_type=client_credentials', { authorization: basic('cli_doesnotexist', 'whatever') }),
      await tokenRequest('grant_type=client_credentials'),
      await tokenRequest('grant_type=client_credentials', { authorization: 'Basic !!!not-base64' }),
      await tokenRequest('grant_type=client_credentials', { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }),
      await tokenRequest(`grant_type=client_credentials&client_id=${acme.clientId}`),
    ];
    for (const res of cases) assertOAuthError(res, 401, 'invalid_client');
    assert.equal(cases[0]!.json.error_description, cases[1]!.json.error_description);
  });

  it('invalid_request: missing grant_type', async () => {
    assertOAuthError(await tokenRequest('scope=payments%3Aread', { authorization: basic(acme.clientId, acme.clientSecret) }), 400, 'invalid_request');
  });

  it('invalid_request: two client authentication methods at once', async () => {
    const res = await tokenRequest(
      `grant_type=client_credentials&client_id=${acme.clientId}&client_secret=${encodeURIComponent(acme.clientSecret)}`,
      { authorization: basic(acme.clientId, acme.clientSecret) },
    );
    assertOAuthError(res, 400, 'invalid_request');
  });

  it('invalid_request: a repeated parameter', async () => {
    for (const body of [
      'grant_type=client_credentials&grant_type=client_credentials',
      'grant_type=client_credentials&scope=payments%3Aread&scope=events%3Aread',
    ]) {
      assertOAuthError(await tokenRequest(body, { authorization: basic(acme.clientId, acme.clientSecret) }), 400, 'invalid_request');
    }
  });

  it('invalid_request: a body that is not form-encoded', async () => {
    const res = await fetch(`${platform.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(acme.clientId, acme.clientSecret) },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    const json = (await res.json()) as { error: string };
    assert.equal(res.status, 400);
    assert.equal(json.error, 'invalid_request');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  it('unsupported_grant_type: password, authorization_code, refresh_token', async () => {
    for (const grant of ['password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
      const res = await tokenRequest(`grant_type=${encodeURIComponent(grant)}`, { authorization: basic(acme.clientId, acme.clientSecret) });
      assertOAuthError(res, 400, 'unsupported_grant_type');
    }
  });

  it('invalid_scope: a scope the client does not hold, a platform scope, an unknown scope, an empty scope', async () => {
    for (const scope of ['refunds:write', 'payments:read refunds:write', 'platform:admin', 'everything', '']) {
      const res = await tokenRequest(`grant_type=client_credentials&scope=${encodeURIComponent(scope)}`, {
        authorization: basic(acme.clientId, acme.clientSecret),
      });
      assertOAuthError(res, 400, 'invalid_scope');
    }
  });

  it('unauthorized_client: a client of a suspended tenant gets no token', async () => {
    const t = await createTenant(platform, { name: 'Suspended Co' });
    // no suspend endpoint exists yet: suspend as the table owner
    const owner = new pg.Client({ connectionString: platform.db.ownerUrl });
    await owner.connect();
    try {
      await owner.query(`update tenants set status = 'suspended' where id = $1`, [t.tenantId]);
    } finally {
      await owner.end();
    }
    const res = await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, t.clientSecret) });
    assertOAuthError(res, 400, 'unauthorized_client');
  });
});

describe('revocation and secret rotation', () => {
  it('a revoked client gets no token (and the same answer as a wrong secret)', async () => {
    const t = await createTenant(platform, { name: 'Revoked Co' });
    const admin = await adminToken(platform);
    const del = await platform.request('DELETE', `/v1/admin/tenants/${t.tenantId}/clients/${t.clientId}`, { token: admin });
    assert.equal(del.status, 200, del.text);
    assert.equal(del.body.status, 'revoked');
    assert.equal(typeof del.body.revoked_at, 'string');
    assert.equal(del.body.client_secret, undefined);
    const res = await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, t.clientSecret) });
    assertOAuthError(res, 401, 'invalid_client');
    const config = await discover(t.clientId, oidc.ClientSecretPost(t.clientSecret));
    await assert.rejects(oidc.clientCredentialsGrant(config), (err: unknown) => err instanceof oidc.ResponseBodyError && err.error === 'invalid_client');
    // revoking again, or rotating a revoked client's secret, is a 404
    assert.equal((await platform.request('DELETE', `/v1/admin/tenants/${t.tenantId}/clients/${t.clientId}`, { token: admin })).status, 404);
    assert.equal((await platform.request('POST', `/v1/admin/tenants/${t.tenantId}/clients/${t.clientId}/rotate_secret`, { token: admin })).status, 404);
  });

  it('rotate_secret: the old secret stops working at once, the new one works', async () => {
    const t = await createTenant(platform, { name: 'Rotating Co' });
    const admin = await adminToken(platform);
    const rot = await platform.request('POST', `/v1/admin/tenants/${t.tenantId}/clients/${t.clientId}/rotate_secret`, { token: admin });
    assert.equal(rot.status, 200, rot.text);
    assert.equal(rot.headers.get('cache-control'), 'no-store');
    assert.match(rot.body.client_secret, /^ncs_/);
    assert.notEqual(rot.body.client_secret, t.clientSecret);
    assert.equal(typeof rot.body.secret_rotated_at, 'string');
    assertOAuthError(await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, t.clientSecret) }), 401, 'invalid_client');
    const token = await getToken(platform, t.clientId, rot.body.client_secret);
    assert.ok(token.split('.').length === 3);
  });
});

describe('what revocation does to tokens already issued', () => {
  it('tokens are self-contained: one issued before a secret rotation or a revocation works until its exp (at most 15 minutes)', async () => {
    const t = await createTenant(platform, { name: 'Live Token Co', scopes: ['payments:read'] });
    const admin = await adminToken(platform);
    assert.equal((await platform.request('GET', '/v1/payments', { token: t.token })).status, 200);
    const rot = await platform.request('POST', `/v1/admin/tenants/${t.tenantId}/clients/${t.clientId}/rotate_secret`, { token: admin });
    assert.equal(rot.status, 200, rot.text);
    assert.equal((await platform.request('GET', '/v1/payments', { token: t.token })).status, 200, 'after the rotation');
    const del = await platform.request('DELETE', `/v1/admin/tenants/${t.tenantId}/clients/${t.clientId}`, { token: admin });
    assert.equal(del.status, 200, del.text);
    assert.equal((await platform.request('GET', '/v1/payments', { token: t.token })).status, 200, 'after the revocation');
    assertOAuthError(await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, rot.body.client_secret) }), 401, 'invalid_client');
    const exp = JSON.parse(Buffer.from(t.token.split('.')[1]!, 'base64url').toString()).exp as number;
    assert.ok(exp - Math.floor(Date.now() / 1000) <= 900, 'and it expires within the token lifetime');
  });
});

describe('throttling of failed client authentication', () => {
  it('locks a client id after repeated failures: 429 with Retry-After, even with the right secret', async () => {
    const t = await createTenant(platform, { name: 'Throttled Co' });
    for (let i = 0; i < 5; i++) {
      assertOAuthError(await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, `ncs_wrong_${i}`) }), 401, 'invalid_client');
    }
    const locked = await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, 'ncs_wrong_again') });
    assert.equal(locked.status, 429, locked.text);
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(locked.headers.get('cache-control'), 'no-store');
    assert.equal(locked.json.access_token, undefined);
    const right = await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, t.clientSecret) });
    assert.equal(right.status, 429);
    // other clients are unaffected
    const other = await tokenRequest('grant_type=client_credentials', { authorization: basic(acme.clientId, acme.clientSecret) });
    assert.equal(other.status, 200);
  });

  it('a success clears earlier failures', async () => {
    const t = await createTenant(platform, { name: 'Forgetful Co' });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) {
        await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, 'ncs_wrong') });
      }
      const ok = await tokenRequest('grant_type=client_credentials', { authorization: basic(t.clientId, t.clientSecret) });
      assert.equal(ok.status, 200, `round ${round}: ${ok.text}`);
    }
  });

  it('the platform admin client is throttled like any other', async () => {
    // keep the admin usable for the rest of this file: fail on a different id that looks like the admin's
    const id = `${ADMIN_CLIENT_ID}-lookalike`;
    for (let i = 0; i < 5; i++) await tokenRequest('grant_type=client_credentials', { authorization: basic(id, ADMIN_SECRET) });
    assert.equal((await tokenRequest('grant_type=client_credentials', { authorization: basic(id, ADMIN_SECRET) })).status, 429);
    assert.equal((await tokenRequest('grant_type=client_credentials', { authorization: basic(ADMIN_CLIENT_ID, ADMIN_SECRET) })).status, 200);
  });
});
