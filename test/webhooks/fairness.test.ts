import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant } from '../helpers/tenants.js';
import { withCrossTenantTx } from '../../src/platform/db.js';
import { claimDueDeliveries } from '../../src/modules/webhooks/deliveries/deliveries.repository.js';
import { createEndpoint, emitEvent, startReceiver, type Receiver } from './helpers.js';
import { eventually } from '../helpers/eventually.js';
import { ownerQuery } from '../payments/helpers.js';

const receivers: Receiver[] = [];
async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

/** Far beyond how long tenant B's deliveries take even on a busy machine: A's requests stay hanging throughout. */
const HANGING_TIMEOUT_MS = 30_000;

describe('delivery fairness and concurrency', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ worker: true, env: { WEBHOOK_TIMEOUT_MS: String(HANGING_TIMEOUT_MS) } });
    // three workers compete for the same deliveries
    await platform.startWorker();
    await platform.startWorker();
  });
  after(() => platform?.close());

  it("a hanging endpoint of tenant A holds at most its concurrency limit and does not delay tenant B", async (t) => {
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
    await slow.waitFor((reqs) => reqs.length >= 4, 30_000);
    const emittedAt = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const id = await emitEvent(platform, fastTenant.tenantId);
      emittedAt.set(id, Date.now());
    }
    // Tenant B is served in full while A's four requests are still hanging (none timed out yet): B never waited
    // behind A. How long it took is a figure, not the assertion.
    await fast.waitFor((reqs) => reqs.length === 20, HANGING_TIMEOUT_MS - 5_000);
    assert.equal(open, 4, 'the slow endpoint still holds its four requests');
    const lags = fast.requests.map((q) => q.receivedAt - emittedAt.get(String(q.headers['webhook-id']))!);
    t.diagnostic(`tenant B's worst lag ${Math.max(...lags)} ms while tenant A's endpoint hung`);
    for (const q of fast.requests) new Webhook(fastEndpoint.secret).verify(q.body, q.headers as Record<string, string>);
    assert.ok(maxOpen <= 4, `at most WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT=4 requests open to the slow endpoint (saw ${maxOpen})`);
    // The workers claimed past the slow endpoint's backlog (all of B's deliveries came after it): had any claim
    // taken a fifth of A's deliveries, it would hold a lease now, whether or not its request has arrived yet.
    const [leased] = await ownerQuery<{ running: number; attempted: number }>(platform,
      `SELECT count(*) FILTER (WHERE locked_until > now())::int AS running, count(*) FILTER (WHERE attempt_count > 0)::int AS attempted
       FROM webhook_deliveries WHERE tenant_id = $1`, [slowTenant.tenantId]);
    assert.deepEqual({ ...leased }, { running: 4, attempted: 0 }, "four of A's deliveries leased, none attempted to the end");
    assert.equal(slow.requests.length, 4, 'the slow endpoint got no more than 4 requests while they hung');
    // Cut the hanging requests now: the workers would otherwise wait out the timeout when the platform closes.
    await slow.close();
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
    await r1.waitFor((reqs) => reqs.length >= 150, 60_000);
    await r2.waitFor((reqs) => reqs.length >= 150, 60_000);
    await r3.waitFor((reqs) => reqs.length >= 150, 60_000);
    // Every delivery recorded succeeded: none can be claimed again, so the receivers have seen every send there is.
    await eventually(async () => (await ownerQuery<{ n: number }>(platform,
      "SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = ANY($1) AND status <> 'succeeded'", [[t1.tenantId, t2.tenantId]]))[0]!.n === 0, { timeoutMs: 30_000, what: 'every delivery recorded' });
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
  after(() => platform?.close());

  it('a delivery whose worker died mid-attempt is sent again with the same webhook-id once its lease expires', async () => {
    const tenant = await createTenant(platform, { name: 'Crash Corp' });
    const r = await receiver();
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    const eventId = await emitEvent(platform, tenant.tenantId);
    // a worker claims the delivery and dies before recording anything
    const leaseMs = 8_000;
    const claimed = await withCrossTenantTx(platform.database.db, (tx) => claimDueDeliveries(tx, { limit: 10, maxPerEndpoint: 4, leaseMs }));
    assert.equal(claimed.length, 1);
    assert.equal(claimed[0]!.event_id, eventId);
    // (workers started here are closed with the platform)
    await platform.startWorker();
    {
      // Another tenant's event delivered proves the new worker has been claiming; the lease is still running and
      // the leased delivery was left alone.
      const canaryTenant = await createTenant(platform, { name: 'Canary Corp' });
      const canary = await receiver();
      await createEndpoint(platform, canaryTenant.token, { url: canary.url });
      await emitEvent(platform, canaryTenant.tenantId);
      await canary.waitFor((reqs) => reqs.length === 1, 30_000);
      const [lease] = await ownerQuery<{ running: boolean; locked_until: Date; attempt_count: number }>(platform,
        'SELECT locked_until > now() AS running, locked_until, attempt_count FROM webhook_deliveries WHERE event_id = $1', [eventId]);
      assert.ok(lease?.running, 'the lease was still running when the canary got through (the machine was too slow to tell)');
      // The row, not the receiver, says nobody took it over: a claim would have replaced the lease (at claim time,
      // before any request left), and no attempt was recorded.
      assert.equal(lease.locked_until.getTime(), claimed[0]?.locked_until.getTime(), 'nobody takes over a running lease');
      assert.equal(lease.attempt_count, 0);
      assert.equal(r.requests.length, 0, 'nobody takes over a running lease');
      await r.waitFor((reqs) => reqs.length === 1, leaseMs + 30_000);
      assert.equal(r.requests[0]!.headers['webhook-id'], eventId);
      await eventually(async () => {
        const res = await platform.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { token: tenant.token });
        return res.body.data[0]?.status === 'succeeded';
      }, { timeoutMs: 30_000, what: 'delivery recorded' });
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
      await watcher.waitFor((reqs) => reqs.length === 1, 30_000);
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
