import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { adminToken, createTenant } from '../helpers/tenants.js';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform();
});
after(() => platform.close());

test('an admin creates a tenant and a client; the client gets an RFC 9068 token that verifies against the JWKS', async () => {
  const tenant = await createTenant(platform, { scopes: ['payments:read', 'payments:write'] });
  assert.match(tenant.tenantId, /^ten_/);
  assert.match(tenant.clientId, /^cli_/);
  const header = decodeProtectedHeader(tenant.token);
  assert.equal(header.typ, 'at+jwt');
  assert.equal(header.alg, 'ES256');
  const jwks = createRemoteJWKSet(new URL(`${platform.baseUrl}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(tenant.token, jwks, { issuer: platform.baseUrl, audience: 'nimbuspay-api', typ: 'at+jwt' });
  assert.equal(payload.sub, tenant.clientId);
  assert.equal(payload.client_id, tenant.clientId);
  assert.equal(payload.tenant_id, tenant.tenantId);
  assert.equal(payload.scope, 'payments:read payments:write');
  assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 900);
});

test('admin routes need platform:admin; tenant tokens get 403 insufficient_scope', async () => {
  const tenant = await createTenant(platform);
  const res = await platform.request('GET', '/v1/admin/tenants', { token: tenant.token });
  assert.equal(res.status, 403);
  assert.equal(res.body.error.code, 'insufficient_scope');
  assert.match(res.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="platform:admin"/);
  const none = await platform.request('GET', '/v1/admin/tenants');
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="nimbuspay"');
  const list = await platform.request('GET', '/v1/admin/tenants?limit=1', { token: await adminToken(platform) });
  assert.equal(list.status, 200);
  assert.equal(list.body.object, 'list');
  assert.equal(list.body.data.length, 1);
});
