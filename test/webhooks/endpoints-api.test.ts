import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { createEndpoint, emitEvent, startReceiver, type Receiver } from './helpers.js';

let platform: TestPlatform;
let tenant: TestTenant;
let other: TestTenant;
let receiver: Receiver;
const secretsSeen: string[] = [];

before(async () => {
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  other = await createTenant(platform, { name: 'Other Corp' });
  receiver = await startReceiver();
});
after(async () => {
  await receiver.close();
  await platform.close();
});

async function create(body: Record<string, unknown>, token = tenant.token) {
  const res = await platform.request('POST', '/v1/webhook_endpoints', { token, body });
  if (res.status === 201) secretsSeen.push(res.body.secret);
  return res;
}

describe('webhook endpoints API', () => {
  it('creates an endpoint and shows its whsec_ secret once, with Cache-Control: no-store', async () => {
    const res = await create({ url: receiver.url, enabled_events: ['payment.succeeded', 'refund.*'], description: 'orders' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.body.id, /^we_[0-9a-z]{26}$/);
    assert.equal(res.body.object, 'webhook_endpoint');
    assert.match(res.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(res.body.enabled_events, ['payment.succeeded', 'refund.*']);
    assert.equal(res.body.status, 'enabled');
    assert.equal(res.body.description, 'orders');

    const got = await platform.request('GET', `/v1/webhook_endpoints/${res.body.id}`, { token: tenant.token });
    assert.equal(got.status, 200);
    assert.equal(got.body.secret, undefined);
    assert.ok(!got.text.includes(res.body.secret));
    const list = await platform.request('GET', '/v1/webhook_endpoints', { token: tenant.token });
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((e: any) => e.id === res.body.id));
    assert.ok(!list.text.includes('whsec_'));
  });

  it('stores the secret encrypted, never in clear', async () => {
    const res = await create({ url: receiver.url, enabled_events: ['*'] });
    const client = new pg.Client({ connectionString: platform.db.ownerUrl });
    await client.connect();
    try {
      const row = await client.query('select * from webhook_endpoints where id = $1', [res.body.id]);
      const dump = JSON.stringify(row.rows);
      assert.ok(!dump.includes(res.body.secret.slice(6)), 'clear secret found in the row');
      assert.match(row.rows[0].secret_enc, /^v1\./);
    } finally {
      await client.end();
    }
  });

  it('updates url, events, description and disabled; validates the body', async () => {
    const { id } = await createEndpoint(platform, tenant.token, { url: receiver.url });
    const res = await platform.request('POST', `/v1/webhook_endpoints/${id}`, {
      token: tenant.token, body: { url: `http://127.0.0.1:${receiver.port}/v2`, enabled_events: ['payment.*'], description: 'v2', disabled: true },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.url, `http://127.0.0.1:${receiver.port}/v2`);
    assert.deepEqual(res.body.enabled_events, ['payment.*']);
    assert.equal(res.body.status, 'disabled');
    assert.equal(res.body.disabled_reason, 'disabled_by_user');
    const enabled = await platform.request('POST', `/v1/webhook_endpoints/${id}`, { token: tenant.token, body: { disabled: false, description: null } });
    assert.equal(enabled.body.status, 'enabled');
    assert.equal(enabled.body.disabled_reason, null);
    assert.equal(enabled.body.description, null);

    for (const body of [{}, { unknown: 1 }, { enabled_events: [] }, { enabled_events: ['payment.exploded'] }, { disabled: 'yes' }]) {
      const bad = await platform.request('POST', `/v1/webhook_endpoints/${id}`, { token: tenant.token, body });
      assert.equal(bad.status, 400, `${JSON.stringify(body)} → ${bad.status} ${bad.text}`);
    }
  });

  it('rejects unknown fields, unknown event types and missing fields at create', async () => {
    for (const body of [
      { url: receiver.url, enabled_events: ['*'], secret: 'whsec_mine' },
      { url: receiver.url, enabled_events: ['charge.succeeded'] },
      { url: receiver.url },
      { enabled_events: ['*'] },
      { url: receiver.url, enabled_events: ['*', '*'] },
    ]) {
      const res = await create(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status}`);
      assert.equal(res.body.error.type, 'invalid_request_error');
    }
  });

  it('deletes an endpoint (and it stops existing)', async () => {
    const { id } = await createEndpoint(platform, tenant.token, { url: receiver.url });
    const del = await platform.request('DELETE', `/v1/webhook_endpoints/${id}`, { token: tenant.token });
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, { id, object: 'webhook_endpoint', deleted: true });
    assert.equal((await platform.request('GET', `/v1/webhook_endpoints/${id}`, { token: tenant.token })).status, 404);
    assert.equal((await platform.request('DELETE', `/v1/webhook_endpoints/${id}`, { token: tenant.token })).status, 404);
  });

  it('rotates the secret: the response shows the new one once, with the previous expiry', async () => {
    const { id, secret } = await createEndpoint(platform, tenant.token, { url: receiver.url });
    const res = await platform.request('POST', `/v1/webhook_endpoints/${id}/rotate_secret`, { token: tenant.token, body: {} });
    assert.equal(res.status, 200, res.text);
    secretsSeen.push(res.body.secret);
    assert.notEqual(res.body.secret, secret);
    const expires = Date.parse(res.body.previous_secret_expires_at) - Date.now();
    assert.ok(expires > 86_300_000 && expires <= 86_400_000, `default overlap is 24 h (got ${expires} ms)`);
    const immediate = await platform.request('POST', `/v1/webhook_endpoints/${id}/rotate_secret`, { token: tenant.token, body: { expire_previous_after_seconds: 0 } });
    secretsSeen.push(immediate.body.secret);
    assert.equal(immediate.body.previous_secret_expires_at, null);
    const tooLong = await platform.request('POST', `/v1/webhook_endpoints/${id}/rotate_secret`, { token: tenant.token, body: { expire_previous_after_seconds: 8 * 86400 } });
    assert.equal(tooLong.status, 400);
  });

  describe('SSRF guard at registration', () => {
    const refused = [
      ['http://169.254.169.254/latest/meta-data/', 'url_not_allowed'],
      ['http://10.0.0.5/hook', 'url_not_allowed'],
      ['http://192.168.1.1/hook', 'url_not_allowed'],
      ['http://172.16.0.1/hook', 'url_not_allowed'],
      ['http://100.64.0.1/hook', 'url_not_allowed'],
      ['http://0.0.0.0/hook', 'url_not_allowed'],
      ['http://[::1]/hook', 'url_not_allowed'],
      ['http://[fd00::1]/hook', 'url_not_allowed'],
      ['http://[fe80::1]/hook', 'url_not_allowed'],
      ['http://[::ffff:169.254.169.254]/hook', 'url_not_allowed'],
      ['http://2852039166/hook', 'parameter_invalid_format'],
      ['http://0xa9fea9fe/hook', 'parameter_invalid_format'],
      ['http://0251.0376.0251.0376/hook', 'parameter_invalid_format'],
      ['http://169.254.43518/hook', 'parameter_invalid_format'],
      ['http://user:pass@example.com/hook', 'parameter_invalid_format'],
      ['ftp://example.com/hook', 'parameter_invalid_format'],
      ['not a url', 'parameter_invalid_format'],
    ] as const;
    let strict: TestPlatform;
    let strictTenant: TestTenant;
    before(async () => {
      strict = await startTestPlatform({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' } });
      strictTenant = await createTenant(strict);
    });
    after(() => strict.close());

    for (const [url, code] of refused) {
      it(`refuses ${url}`, async () => {
        const res = await strict.request('POST', '/v1/webhook_endpoints', { token: strictTenant.token, body: { url, enabled_events: ['*'] } });
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.error.code, code);
        assert.equal(res.body.error.param, 'url');
      });
    }

    it('refuses a hostname that resolves to loopback (localhost) and loopback itself', async () => {
      for (const url of ['http://localhost:8080/hook', `http://127.0.0.1:${receiver.port}/hook`]) {
        const res = await strict.request('POST', '/v1/webhook_endpoints', { token: strictTenant.token, body: { url, enabled_events: ['*'] } });
        assert.equal(res.status, 400, `${url}: ${res.text}`);
        assert.equal(res.body.error.code, 'url_not_allowed');
      }
    });

    it('refuses the same targets on update', async () => {
      const ok = await strict.request('POST', '/v1/webhook_endpoints', { token: strictTenant.token, body: { url: 'http://93.184.215.14/hook', enabled_events: ['*'] } });
      assert.equal(ok.status, 201, ok.text);
      const res = await strict.request('POST', `/v1/webhook_endpoints/${ok.body.id}`, { token: strictTenant.token, body: { url: 'http://169.254.169.254/' } });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'url_not_allowed');
    });
  });

  it('requires https in staging', async () => {
    const staging = await startTestPlatform({ env: { NIMBUSPAY_ENV: 'staging' } });
    try {
      const t = await createTenant(staging);
      const res = await staging.request('POST', '/v1/webhook_endpoints', { token: t.token, body: { url: 'http://93.184.215.14/hook', enabled_events: ['*'] } });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, 'parameter_invalid_format');
      assert.match(res.body.error.message, /https/);
      const https = await staging.request('POST', '/v1/webhook_endpoints', { token: t.token, body: { url: 'https://93.184.215.14/hook', enabled_events: ['*'] } });
      assert.equal(https.status, 201, https.text);
      const loopback = await staging.request('POST', '/v1/webhook_endpoints', { token: t.token, body: { url: 'https://127.0.0.1/hook', enabled_events: ['*'] } });
      assert.equal(loopback.body.error.code, 'url_not_allowed');
    } finally {
      await staging.close();
    }
  });

  it('scopes: webhooks:read cannot write, events-only tokens cannot read endpoints, no token is 401', async () => {
    const reader = await createTenant(platform, { name: 'Reader', scopes: ['webhooks:read'] });
    const eventsOnly = await createTenant(platform, { name: 'Events only', scopes: ['events:read'] });
    const { id } = await createEndpoint(platform, tenant.token, { url: receiver.url });
    const writeAttempts: Array<[string, string, unknown]> = [
      ['POST', '/v1/webhook_endpoints', { url: receiver.url, enabled_events: ['*'] }],
      ['POST', `/v1/webhook_endpoints/${id}`, { description: 'x' }],
      ['DELETE', `/v1/webhook_endpoints/${id}`, undefined],
      ['POST', `/v1/webhook_endpoints/${id}/rotate_secret`, {}],
      ['POST', `/v1/webhook_endpoints/${id}/replay`, { created_gte: '0', created_lte: '1' }],
      ['POST', '/v1/webhook_deliveries/whd_00000000000000000000000000/retry', undefined],
    ];
    for (const [method, path, body] of writeAttempts) {
      const res = await platform.request(method, path, { token: reader.token, ...(body !== undefined ? { body } : {}) });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.error.code, 'insufficient_scope');
      assert.equal((await platform.request(method, path, body !== undefined ? { body } : {})).status, 401);
    }
    for (const path of ['/v1/webhook_endpoints', `/v1/webhook_endpoints/${id}`, `/v1/webhook_endpoints/${id}/deliveries`]) {
      assert.equal((await platform.request('GET', path, { token: eventsOnly.token })).status, 403, path);
      assert.equal((await platform.request('GET', path, { token: reader.token })).status, path.endsWith(id) || path.endsWith('deliveries') ? 404 : 200, path);
    }
  });

  it("tenant isolation: another tenant's endpoint and delivery are 404, and its list is empty", async () => {
    const { id } = await createEndpoint(platform, tenant.token, { url: receiver.url });
    await emitEvent(platform, tenant.tenantId);
    const owner = await platform.database.db.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', id).execute();
    // reading through the app role needs the tenant context; use the API instead
    const deliveries = await platform.request('GET', `/v1/webhook_endpoints/${id}/deliveries`, { token: tenant.token });
    assert.equal(deliveries.status, 200);
    const deliveryId = deliveries.body.data[0]?.id as string;
    assert.match(deliveryId, /^whd_/);
    assert.equal(owner.length, 0, 'RLS hides rows outside a tenant transaction');
    const probes: Array<[string, string, unknown]> = [
      ['GET', `/v1/webhook_endpoints/${id}`, undefined],
      ['POST', `/v1/webhook_endpoints/${id}`, { description: 'mine now' }],
      ['DELETE', `/v1/webhook_endpoints/${id}`, undefined],
      ['POST', `/v1/webhook_endpoints/${id}/rotate_secret`, {}],
      ['GET', `/v1/webhook_endpoints/${id}/deliveries`, undefined],
      ['POST', `/v1/webhook_endpoints/${id}/replay`, { created_gte: '0', created_lte: String(Math.floor(Date.now() / 1000)) }],
      ['POST', `/v1/webhook_deliveries/${deliveryId}/retry`, undefined],
    ];
    for (const [method, path, body] of probes) {
      const res = await platform.request(method, path, { token: other.token, ...(body !== undefined ? { body } : {}) });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.code, 'resource_not_found');
    }
    const list = await platform.request('GET', '/v1/webhook_endpoints', { token: other.token });
    assert.deepEqual(list.body.data, []);
    const still = await platform.request('GET', `/v1/webhook_endpoints/${id}`, { token: tenant.token });
    assert.equal(still.body.description, null);
  });

  it('lists endpoints with cursor pagination', async () => {
    const pager = await createTenant(platform, { name: 'Pager' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createEndpoint(platform, pager.token, { url: receiver.url })).id);
    const first = await platform.request('GET', '/v1/webhook_endpoints?limit=2', { token: pager.token });
    assert.deepEqual(first.body.data.map((e: any) => e.id), [ids[4], ids[3]]);
    assert.equal(first.body.has_more, true);
    const second = await platform.request('GET', `/v1/webhook_endpoints?limit=2&starting_after=${ids[3]}`, { token: pager.token });
    assert.deepEqual(second.body.data.map((e: any) => e.id), [ids[2], ids[1]]);
    const last = await platform.request('GET', `/v1/webhook_endpoints?limit=2&starting_after=${ids[1]}`, { token: pager.token });
    assert.deepEqual(last.body.data.map((e: any) => e.id), [ids[0]]);
    assert.equal(last.body.has_more, false);
  });

  it('never writes a webhook secret to the logs', async () => {
    assert.ok(secretsSeen.length >= 3);
    const logs = platform.logs.text();
    for (const secret of secretsSeen) {
      assert.ok(!logs.includes(secret), 'a whsec_ secret appeared in the logs');
      assert.ok(!logs.includes(secret.slice(6, 30)), 'part of a secret appeared in the logs');
    }
  });
});
