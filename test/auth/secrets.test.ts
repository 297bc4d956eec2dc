/**
 * No secret leaks: drive the whole auth surface (successes, failures, malformed requests, rotations) with logging
 * at trace level, then grep every captured log line and every API response for client secrets, the admin secret,
 * the master key, private key material, secret hashes and full access tokens.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createKeyRing } from '../../src/platform/crypto.js';
import { Secret } from '../../src/platform/secret.js';
import { startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.js';
import { ADMIN_CLIENT_ID, ADMIN_SECRET } from '../helpers/tenants.js';
import { activeSigningKey, adminClaims, sign } from './forge.js';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform({ env: { LOG_LEVEL: 'trace' } });
});
after(() => platform.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

it('no secret, key material or token reaches the logs or a response that should not carry it', async () => {
  const responses: Array<{ label: string; res: TestResponse; mayContain?: string[] }> = [];
  const tokens: string[] = [];
  const clientSecrets: string[] = [];
  const rec = (label: string, res: TestResponse, mayContainSecret?: string) => {
    responses.push({ label, res, ...(mayContainSecret ? { mayContain: [mayContainSecret, encodeURIComponent(mayContainSecret)] } : {}) });
    return res;
  };
  const token = async (label: string, body: string, headers: Record<string, string> = {}) => {
    const res = rec(label, await platform.request('POST', '/oauth/token', {
      rawBody: body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    }));
    if (res.body?.access_token) {
      tokens.push(res.body.access_token);
      responses[responses.length - 1]!.mayContain = [res.body.access_token, res.body.access_token.split('.')[2]];
    }
    return res;
  };

  // admin: token, tenant, client
  const adminRes = await token('admin token', 'grant_type=client_credentials', { authorization: basic(ADMIN_CLIENT_ID, ADMIN_SECRET) });
  assert.equal(adminRes.status, 200);
  const admin = adminRes.body.access_token as string;
  const tenant = rec('create tenant', await platform.request('POST', '/v1/admin/tenants', { token: admin, body: { name: 'Leaky Inc' } }));
  const created = await platform.request('POST', `/v1/admin/tenants/${tenant.body.id}/clients`, {
    token: admin, body: { name: 'svc', scopes: ['payments:read', 'events:read'] },
  });
  assert.equal(created.status, 201);
  const clientId = created.body.client_id as string;
  const s1 = created.body.client_secret as string;
  clientSecrets.push(s1);
  rec('create client', created, s1);

  // successes with both client authentication methods, with and without scope
  await token('basic', 'grant_type=client_credentials', { authorization: basic(clientId, s1) });
  await token('post', `grant_type=client_credentials&client_id=${clientId}&client_secret=${encodeURIComponent(s1)}&scope=events%3Aread`);

  // failures that carry secrets in every place a careless log could pick them up
  await token('wrong secret basic', 'grant_type=client_credentials', { authorization: basic(clientId, `${s1}x`) });
  await token('wrong secret post', `grant_type=client_credentials&client_id=${clientId}&client_secret=${encodeURIComponent(`${s1}y`)}`);
  await token('both methods', `grant_type=client_credentials&client_id=${clientId}&client_secret=${encodeURIComponent(s1)}`, { authorization: basic(clientId, s1) });
  await token('repeated secret', `grant_type=client_credentials&client_id=${clientId}&client_secret=${encodeURIComponent(s1)}&client_secret=${encodeURIComponent(s1)}`);
  await token('bad grant', `grant_type=password&username=u&password=${encodeURIComponent(ADMIN_SECRET)}`, { authorization: basic(clientId, s1) });
  await token('bad scope', 'grant_type=client_credentials&scope=platform%3Aadmin', { authorization: basic(clientId, s1) });
  rec('json to token endpoint', await platform.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: clientId, client_secret: s1 } }));
  rec('oversized token request', await platform.request('POST', '/oauth/token', {
    rawBody: `grant_type=client_credentials&client_secret=${encodeURIComponent(s1)}&pad=${'x'.repeat(5000)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  }));
  for (let i = 0; i < 6; i++) await token('throttle', 'grant_type=client_credentials', { authorization: basic(ADMIN_CLIENT_ID, `${ADMIN_SECRET}-${i}`) });

  // bearer tokens in the wrong places, forged tokens, tokens on unknown routes
  const tenantToken = tokens[1]!;
  rec('token in query', await platform.request('GET', `/v1/admin/tenants?access_token=${tenantToken}&client_secret=${s1}`));
  rec('token on unknown route', await platform.request('GET', `/v1/nope?access_token=${tenantToken}`, { token: tenantToken }));
  rec('insufficient scope', await platform.request('GET', '/v1/admin/tenants', { token: tenantToken }));
  const real = await activeSigningKey(platform);
  const expired = await sign(real, adminClaims(platform, { exp: Math.floor(Date.now() / 1000) - 120, iat: Math.floor(Date.now() / 1000) - 400 }));
  tokens.push(expired);
  rec('expired token', await platform.request('GET', '/v1/admin/tenants', { token: expired }));
  rec('body with secrets on admin route', await platform.request('POST', '/v1/admin/tenants', { token: admin, body: { name: 'x', client_secret: s1, password: ADMIN_SECRET } }));

  // rotation, listing, revocation, key rotation
  const rotated = await platform.request('POST', `/v1/admin/tenants/${tenant.body.id}/clients/${clientId}/rotate_secret`, { token: admin });
  assert.equal(rotated.status, 200);
  const s2 = rotated.body.client_secret as string;
  clientSecrets.push(s2);
  rec('rotate', rotated, s2);
  await token('after rotation', 'grant_type=client_credentials', { authorization: basic(clientId, s2) });
  rec('list clients', await platform.request('GET', `/v1/admin/tenants/${tenant.body.id}/clients`, { token: admin }));
  rec('list tenants', await platform.request('GET', '/v1/admin/tenants', { token: admin }));
  rec('rotate key', await platform.request('POST', '/v1/admin/signing_keys/rotate', { token: admin, body: { activation_delay_seconds: 0 } }));
  rec('list keys', await platform.request('GET', '/v1/admin/signing_keys', { token: admin }));
  rec('jwks', await platform.request('GET', '/.well-known/jwks.json'));
  rec('metadata', await platform.request('GET', '/.well-known/oauth-authorization-server'));
  rec('openapi', await platform.request('GET', '/openapi.json'));
  rec('revoke', await platform.request('DELETE', `/v1/admin/tenants/${tenant.body.id}/clients/${clientId}`, { token: admin }));
  await token('revoked', 'grant_type=client_credentials', { authorization: basic(clientId, s2) });

  // what must never appear
  const owner = new pg.Client({ connectionString: platform.db.ownerUrl });
  await owner.connect();
  const hashes = (await owner.query<{ secret_hash: string }>('select secret_hash from api_clients')).rows.map((r) => r.secret_hash);
  const keyRows = (await owner.query<{ private_key_enc: string }>('select private_key_enc from signing_keys')).rows;
  await owner.end();
  const keyRing = createKeyRing(new Secret(platform.config.masterKey!));
  const privateDs = keyRows.map((r) => String((JSON.parse(keyRing.decrypt('signing-keys', r.private_key_enc)) as { d: string }).d));
  assert.ok(privateDs.length >= 2 && privateDs.every((d) => d.length > 20));
  const masterKey = platform.config.masterKey!;
  const forbidden: Array<[string, string]> = [
    ['admin secret', ADMIN_SECRET],
    ['master key (base64)', masterKey],
    ['master key (hex)', Buffer.from(masterKey, 'base64').toString('hex')],
    ['master key (base64url)', Buffer.from(masterKey, 'base64').toString('base64url')],
    ...clientSecrets.map((s, i) => [`client secret ${i + 1}`, s] as [string, string]),
    ...clientSecrets.map((s, i) => [`client secret ${i + 1} (url-encoded)`, encodeURIComponent(s)] as [string, string]),
    ...hashes.map((h, i) => [`secret hash ${i + 1}`, h] as [string, string]),
    ...hashes.map((h, i) => [`secret hash salt+hash ${i + 1}`, h.split('$').slice(-1)[0]!] as [string, string]),
    ...privateDs.map((d, i) => [`private key d ${i + 1}`, d] as [string, string]),
    ...keyRows.map((r, i) => [`encrypted private key ${i + 1}`, r.private_key_enc] as [string, string]),
    ...tokens.map((t, i) => [`access token ${i + 1}`, t] as [string, string]),
    ...tokens.map((t, i) => [`access token signature ${i + 1}`, t.split('.')[2]!] as [string, string]),
  ];
  assert.ok(tokens.length >= 5, `collected ${tokens.length} tokens`);

  const logs = platform.logs.text();
  assert.ok(platform.logs.lines.length > 40, 'logs were captured');
  assert.match(logs, /client authentication failed/, 'failed authentications are logged (without secrets)');
  for (const [what, value] of forbidden) {
    assert.equal(logs.includes(value), false, `${what} appears in the logs`);
  }
  for (const { label, res, mayContain } of responses) {
    for (const [what, value] of forbidden) {
      if (mayContain?.includes(value)) continue;
      assert.equal(res.text.includes(value), false, `${what} appears in the '${label}' response`);
    }
    assert.equal(/secret_hash|private_key|scrypt\$|hmac-sha256\$/.test(res.text), false, `'${label}' response names secret storage`);
  }
  // only the create and rotate responses carry a client_secret at all
  const withSecret = responses.filter(({ res }) => /"client_secret"\s*:/.test(res.text) && !res.text.includes('"openapi"')).map((r) => r.label);
  assert.deepEqual(withSecret, ['create client', 'rotate']);
  // JWKS and key listing: public material only
  const jwks = responses.find((r) => r.label === 'jwks')!.res.body as { keys: Array<Record<string, unknown>> };
  for (const k of jwks.keys) assert.deepEqual(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
});
