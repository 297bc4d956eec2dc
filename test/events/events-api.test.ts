import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { emitEvent } from '../webhooks/helpers.js';
import { purgeExpiredEvents } from '../../src/modules/events/index.js';
import { withTenantTx } from '../../src/platform/db.js';
import { recordEventAndFanOut } from '../../src/modules/webhooks/index.js';

let platform: TestPlatform;
let tenant: TestTenant;
let other: TestTenant;
const ids: Record<string, string> = {};

async function owner<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: platform.db.ownerUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

before(async () => {
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  other = await createTenant(platform, { name: 'Other Corp' });
  ids.p1 = await emitEvent(platform, tenant.tenantId, 'payment.processing', { id: 'pay_a' });
  ids.p2 = await emitEvent(platform, tenant.tenantId, 'payment.succeeded', { id: 'pay_a' });
  ids.r1 = await emitEvent(platform, tenant.tenantId, 'refund.succeeded', { id: 'pay_b' });
  ids.p3 = await emitEvent(platform, tenant.tenantId, 'payment.failed', { id: 'pay_c' });
  ids.o1 = await emitEvent(platform, other.tenantId, 'payment.succeeded', { id: 'pay_other' });
  // spread the creation times so the time filters have something to cut
  await owner(async (c) => {
    await c.query(`update events set created_at = '2025-01-01T00:00:00Z' where id = $1`, [ids.p1]);
    await c.query(`update events set created_at = '2025-01-02T00:00:00Z' where id = $1`, [ids.p2]);
    await c.query(`update events set created_at = '2025-01-03T00:00:00Z' where id = $1`, [ids.r1]);
    await c.query(`update events set created_at = '2025-01-04T00:00:00Z' where id = $1`, [ids.p3]);
  });
});
after(() => platform.close());

async function list(query: string, token = tenant.token) {
  const res = await platform.request('GET', `/v1/events${query}`, { token });
  assert.equal(res.status, 200, res.text);
  return res.body as { object: string; data: Array<Record<string, any>>; has_more: boolean };
}

describe('events API', () => {
  it('lists the tenant events newest first as event resources', async () => {
    const page = await list('');
    assert.equal(page.object, 'list');
    assert.deepEqual(page.data.map((e) => e.id), [ids.p3, ids.r1, ids.p2, ids.p1]);
    const e = page.data[0]!;
    assert.deepEqual(Object.keys(e).sort(), ['created_at', 'data', 'id', 'object', 'type']);
    assert.equal(e.object, 'event');
    assert.equal(e.type, 'payment.failed');
    assert.equal(e.created_at, '2025-01-04T00:00:00.000Z');
    assert.equal(e.data.object.id, 'pay_c');
  });

  it('filters by exact type, wildcard and *', async () => {
    assert.deepEqual((await list('?type=payment.succeeded')).data.map((e) => e.id), [ids.p2]);
    assert.deepEqual((await list('?type=payment.*')).data.map((e) => e.id), [ids.p3, ids.p2, ids.p1]);
    assert.deepEqual((await list('?type=refund.*')).data.map((e) => e.id), [ids.r1]);
    assert.equal((await list('?type=*')).data.length, 4);
    const bad = await platform.request('GET', '/v1/events?type=payment.exploded', { token: tenant.token });
    assert.equal(bad.status, 400);
  });

  it('filters by created[gte]/created[lte] in unix seconds or RFC 3339', async () => {
    const jan2 = Date.parse('2025-01-02T00:00:00Z') / 1000;
    const jan3 = Date.parse('2025-01-03T00:00:00Z') / 1000;
    assert.deepEqual((await list(`?created[gte]=${jan2}&created[lte]=${jan3}`)).data.map((e) => e.id), [ids.r1, ids.p2]);
    assert.deepEqual((await list(`?created%5Bgte%5D=2025-01-03T00:00:00Z`)).data.map((e) => e.id), [ids.p3, ids.r1]);
    assert.deepEqual((await list(`?created[lte]=2025-01-01T12:00:00%2B02:00`)).data.map((e) => e.id), [ids.p1]);
    for (const q of ['created[gte]=yesterday', 'created[gte]=2025-13-45T00:00:00Z', 'created[gt]=1', 'created=1']) {
      const bad = await platform.request('GET', `/v1/events?${q}`, { token: tenant.token });
      assert.equal(bad.status, 400, `${q}: ${bad.text}`);
    }
  });

  it('filters by object_id', async () => {
    assert.deepEqual((await list('?object_id=pay_a')).data.map((e) => e.id), [ids.p2, ids.p1]);
    assert.deepEqual((await list('?object_id=pay_other')).data, []);
  });

  it('pages with starting_after / ending_before, combined with filters', async () => {
    const first = await list('?limit=2');
    assert.deepEqual(first.data.map((e) => e.id), [ids.p3, ids.r1]);
    assert.equal(first.has_more, true);
    const second = await list(`?limit=2&starting_after=${ids.r1}`);
    assert.deepEqual(second.data.map((e) => e.id), [ids.p2, ids.p1]);
    assert.equal(second.has_more, false);
    const back = await list(`?limit=2&ending_before=${ids.p1}`);
    assert.deepEqual(back.data.map((e) => e.id), [ids.r1, ids.p2]);
    const filtered = await list(`?limit=1&type=payment.*&starting_after=${ids.p3}`);
    assert.deepEqual(filtered.data.map((e) => e.id), [ids.p2]);
    assert.equal(filtered.has_more, true);
    assert.equal((await platform.request('GET', '/v1/events?limit=101', { token: tenant.token })).status, 400);
    assert.equal((await platform.request('GET', '/v1/events?foo=bar', { token: tenant.token })).status, 400);
  });

  it('retrieves one event; another tenant gets 404 for it and never sees it in lists', async () => {
    const got = await platform.request('GET', `/v1/events/${ids.p2}`, { token: tenant.token });
    assert.equal(got.status, 200);
    assert.equal(got.body.id, ids.p2);
    assert.equal(got.body.type, 'payment.succeeded');
    const foreign = await platform.request('GET', `/v1/events/${ids.p2}`, { token: other.token });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, 'resource_not_found');
    const missing = await platform.request('GET', '/v1/events/evt_00000000000000000000000000', { token: tenant.token });
    assert.deepEqual(missing.body.error.code, foreign.body.error.code);
    assert.equal((await platform.request('GET', '/v1/events/nonsense', { token: tenant.token })).status, 404);
    assert.deepEqual((await list('', other.token)).data.map((e) => e.id), [ids.o1]);
  });

  it('requires events:read', async () => {
    const noEvents = await createTenant(platform, { name: 'Webhooks only', scopes: ['webhooks:read', 'webhooks:write'] });
    for (const path of ['/v1/events', `/v1/events/${ids.p1}`]) {
      const res = await platform.request('GET', path, { token: noEvents.token });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'insufficient_scope');
      assert.equal((await platform.request('GET', path)).status, 401);
    }
  });

  it('refuses to record an event type outside the closed list (the transaction fails)', async () => {
    await assert.rejects(
      withTenantTx(platform.database.db, tenant.tenantId, (tx) =>
        recordEventAndFanOut(tx, tenant.tenantId, { type: 'payment.exploded', objectType: 'payment', objectId: 'pay_x', object: {} })),
      /unknown event type/,
    );
  });

  it('purges events older than the retention period, with their deliveries', async () => {
    const purger = await createTenant(platform, { name: 'Purge Corp' });
    const endpoint = await platform.request('POST', '/v1/webhook_endpoints', { token: purger.token, body: { url: 'http://127.0.0.1:9/hook', enabled_events: ['*'] } });
    assert.equal(endpoint.status, 201);
    const old = await emitEvent(platform, purger.tenantId);
    const recent = await emitEvent(platform, purger.tenantId);
    await owner((c) => c.query(`update events set created_at = now() - interval '31 days' where id = $1`, [old]));
    let purged = 0;
    for (let n = await purgeExpiredEvents(platform.database.db, 30); n > 0; n = await purgeExpiredEvents(platform.database.db, 30)) purged += n;
    assert.ok(purged >= 5, `the old event and the 2025 fixtures were purged (got ${purged})`);
    assert.deepEqual((await list('', purger.token)).data.map((e) => e.id), [recent]);
    assert.equal((await platform.request('GET', `/v1/events/${old}`, { token: purger.token })).status, 404);
    const left = await owner((c) => c.query('select event_id from webhook_deliveries where endpoint_id = $1', [endpoint.body.id]));
    assert.deepEqual(left.rows.map((r) => r.event_id), [recent]);
  });
});
