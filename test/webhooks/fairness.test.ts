import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant } from '../helpers/tenants.js';
import { withCrossTenantTx } from '../../src/platform/db.js';
import { claimDueDeliveries } from '../../src/modules/webhooks/deliveries/deliveries.repository.js';
import { createEndpoint, emitEvent, startReceiver, waitUntil, type Receiver } from './helpers.js';

const receivers: Receiver[] = [];
async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

describe('delivery fairness and concurrency', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ worker: true, env: { WEBHOOK_TIMEOUT_MS: '3000' } });
    // three workers compete for the same deliveries
    await platform.startWorker();
    await platform.startWorker();
  });
  after(() => platform.close());

  it("a hanging endpoint of tenant A holds at most its concurrency limit and does not delay tenant B", async () => {
    const slowTenant = await createTenant(platform, { name: 'Slow Corp' });
    const fastTenant = await createTenant(platform, { name: 'Fast Corp' });
    const slow = await receiver();
    let open = 0;
    let maxOpen = 0;
    slow.respond((_req, res) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      res.on('close', () => open--);
      // never answers: the worker's request times out after WEBHOOK_TIMEOUT_MS
    });
    const fast = await receiver();
    await createEndpoint(platform, slowTenant.token, { url: slow.url });
    const fastEndpoint = await createEndpoint(platform, fastTenant.token, { url: fast.url });

    for (let i = 0; i < 30; i++) await emitEvent(platform, slowTenant.tenantId);
    await slow.waitFor((reqs) => reqs.length >= 4, 5000);
    const emittedAt = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const id = await emitEvent(platform, fastTenant.tenantId);
      emittedAt.set(id, Date.now());
    }
    await fast.waitFor((reqs) => reqs.length === 20, 5000);
    const lags = fast.requests.map((q) => q.receivedAt - emittedAt.get(String(q.headers['webhook-id']))!);
    const worst = Math.max(...lags);
    assert.ok(worst < 1000, `tenant B's worst lag was ${worst} ms while tenant A's endpoint hung (timeout 3000 ms)`);
    for (const q of fast.requests) new Webhook(fastEndpoint.secret).verify(q.body, q.headers as Record<string, string>);
    assert.ok(maxOpen <= 4, `at most WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT=4 requests open to the slow endpoint (saw ${maxOpen})`);
    assert.equal(slow.requests.length, 4, 'the slow endpoint got no more than 4 requests before the first timed out');
  });

  it('three workers deliver every event exactly once per endpoint', async () => {
    const t1 = await createTenant(platform, { name: 'Load 1' });
    const t2 = await createTenant(platform, { name: 'Load 2' });
    const r1 = await receiver();
    const r2 = await receiver();
    const r3 = await receiver();
    await createEndpoint(platform, t1.token, { url: r1.url });
    await createEndpoint(platform, t1.token, { url: r2.url, enabled_events: ['payment.succeeded'] });
    await createEndpoint(platform, t2.token, { url: r3.url });
    const emitted1: string[] = [];
    const emitted2: string[] = [];
    await Promise.all([
      (async () => { for (let i = 0; i < 150; i++) emitted1.push(await emitEvent(platform, t1.tenantId)); })(),
      (async () => { for (let i = 0; i < 150; i++) emitted2.push(await emitEvent(platform, t2.tenantId)); })(),
    ]);
    await r1.waitFor((reqs) => reqs.length >= 150, 15_000);
    await r2.waitFor((reqs) => reqs.length >= 150, 15_000);
    await r3.waitFor((reqs) => reqs.length >= 150, 15_000);
    await new Promise((res) => setTimeout(res, 300));
    const ids = (r: Receiver) => r.requests.map((q) => String(q.headers['webhook-id']));
    assert.deepEqual(ids(r1).sort(), [...emitted1].sort(), 'endpoint 1: each event exactly once');
    assert.deepEqual(ids(r2).sort(), [...emitted1].sort(), 'endpoint 2: each event exactly once');
    assert.deepEqual(ids(r3).sort(), [...emitted2].sort(), 'endpoint 3: each event exactly once');
  });
});

describe('crash recovery and prolonged failure', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ env: { WEBHOOK_DISABLE_AFTER_MS: '400' } });
  });
  after(() => platform.close());

  it('a delivery whose worker died mid-attempt is sent again with the same webhook-id once its lease expires', async () => {
    const tenant = await createTenant(platform, { name: 'Crash Corp' });
    const r = await receiver();
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    const eventId = await emitEvent(platform, tenant.tenantId);
    // a worker claims the delivery (short lease) and dies before recording anything
    const claimed = await withCrossTenantTx(platform.database.db, (tx) => claimDueDeliveries(tx, { limit: 10, maxPerEndpoint: 4, leaseMs: 600 }));
    assert.equal(claimed.length, 1);
    assert.equal(claimed[0]!.event_id, eventId);
    // (workers started here are closed with the platform)
    await platform.startWorker();
    {
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(r.requests.length, 0, 'nobody takes over a running lease');
      await r.waitFor((reqs) => reqs.length === 1, 3000);
      assert.equal(r.requests[0]!.headers['webhook-id'], eventId);
      await waitUntil(async () => {
        const res = await platform.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { token: tenant.token });
        return res.body.data[0]?.status === 'succeeded';
      }, 3000, 'delivery recorded');
    }
  });

  it('an endpoint failing continuously for WEBHOOK_DISABLE_AFTER_MS is disabled, with a webhook_endpoint.disabled event', async () => {
    const tenant = await createTenant(platform, { name: 'Failing Corp' });
    const failing = await receiver();
    failing.respond((_req, res) => { res.writeHead(500).end(); });
    const watcher = await receiver();
    const endpoint = await createEndpoint(platform, tenant.token, { url: failing.url, enabled_events: ['payment.*'] });
    await createEndpoint(platform, tenant.token, { url: watcher.url, enabled_events: ['webhook_endpoint.disabled'] });
    {
      await emitEvent(platform, tenant.tenantId);
      await watcher.waitFor((reqs) => reqs.length === 1, 5000);
      const event = JSON.parse(watcher.requests[0]!.body) as Record<string, any>;
      assert.equal(event.type, 'webhook_endpoint.disabled');
      assert.equal(event.data.object.id, endpoint.id);
      assert.equal(event.data.object.disabled_reason, 'failing');
      const got = await platform.request('GET', `/v1/webhook_endpoints/${endpoint.id}`, { token: tenant.token });
      assert.equal(got.body.status, 'disabled');
      const attempts = failing.requests.length;
      assert.ok(attempts >= 2, `failed ${attempts} times before being disabled`);
      // re-enabling restarts the clock; a manual retry needs an enabled endpoint
      const deliveries = await platform.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { token: tenant.token });
      const retry = await platform.request('POST', `/v1/webhook_deliveries/${deliveries.body.data[0].id}/retry`, { token: tenant.token });
      assert.equal(retry.status, 409);
      assert.equal(retry.body.error.code, 'invalid_state');
    }
  });
});
