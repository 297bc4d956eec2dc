import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import type { Metrics } from '../../src/platform/metrics.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { createEndpoint, emitEvent, startReceiver, type ReceivedRequest, type Receiver } from './helpers.js';
import { eventually } from '../helpers/eventually.js';
import { ownerQuery } from '../payments/helpers.js';

let platform: TestPlatform;
let tenant: TestTenant;
const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

function verify(secret: string, req: ReceivedRequest): unknown {
  return new Webhook(secret).verify(req.body, {
    'webhook-id': String(req.headers['webhook-id']),
    'webhook-timestamp': String(req.headers['webhook-timestamp']),
    'webhook-signature': String(req.headers['webhook-signature']),
  });
}

async function deliveries(endpointId: string) {
  const res = await platform.request('GET', `/v1/webhook_endpoints/${endpointId}/deliveries?limit=100`, { token: tenant.token });
  assert.equal(res.status, 200, res.text);
  return res.body.data as Array<Record<string, any>>;
}

let metrics: Metrics;
before(async () => {
  platform = await startTestPlatform();
  metrics = ((await platform.startWorker()) as unknown as { metrics: Metrics }).metrics;
  tenant = await createTenant(platform);
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await platform?.close();
});

describe('webhook delivery', () => {
  it('delivers a committed event with Standard Webhooks headers that the official verifier accepts', async () => {
    const r = await receiver();
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url, enabled_events: ['payment.*'] });
    const eventId = await emitEvent(platform, tenant.tenantId, 'payment.succeeded', { id: 'pay_signed' });
    await r.waitFor((reqs) => reqs.length === 1);
    const req = r.requests[0]!;
    assert.equal(req.headers['webhook-id'], eventId);
    assert.equal(req.headers['content-type'], 'application/json');
    const payload = verify(endpoint.secret, req) as Record<string, any>;
    assert.equal(payload.id, eventId);
    assert.equal(payload.object, 'event');
    assert.equal(payload.type, 'payment.succeeded');
    assert.equal(payload.data.object.id, 'pay_signed');
    assert.throws(() => verify('whsec_' + Buffer.alloc(32, 1).toString('base64'), req), 'a different secret must not verify');
    await eventually(async () => (await deliveries(endpoint.id))[0]?.status === 'succeeded', { timeoutMs: 30_000, what: 'delivery succeeded' });
    const [d] = await deliveries(endpoint.id);
    assert.equal(d!.event_id, eventId);
    assert.equal(d!.attempt_count, 1);
    assert.equal(d!.attempts.length, 1);
    assert.equal(d!.attempts[0].status_code, 200);
    assert.equal(d!.attempts[0].response_body, 'ok');
    assert.equal(typeof d!.attempts[0].latency_ms, 'number');
  });

  it('only sends the types an endpoint subscribes to', async () => {
    const r = await receiver();
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url, enabled_events: ['refund.succeeded'] });
    await emitEvent(platform, tenant.tenantId, 'payment.succeeded');
    const refundEvent = await emitEvent(platform, tenant.tenantId, 'refund.succeeded');
    // The outbox decided at commit: one delivery, for the subscribed type; once it succeeded there is nothing else to send.
    await eventually(async () => (await deliveries(endpoint.id)).every((d) => d.status === 'succeeded'), { timeoutMs: 30_000, what: 'delivery succeeded' });
    assert.deepEqual((await deliveries(endpoint.id)).map((d) => d.event_id), [refundEvent]);
    assert.deepEqual(r.requests.map((q) => q.headers['webhook-id']), [refundEvent]);
  });

  it('retries failures with the same webhook-id until the receiver succeeds', async () => {
    const r = await receiver();
    let calls = 0;
    r.respond((_req, res) => { calls++; res.writeHead(calls <= 2 ? 500 : 204).end(calls <= 2 ? 'boom' : undefined); });
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    const eventId = await emitEvent(platform, tenant.tenantId);
    await r.waitFor((reqs) => reqs.length === 3);
    assert.deepEqual(new Set(r.requests.map((q) => q.headers['webhook-id'])), new Set([eventId]));
    for (const req of r.requests) verify(endpoint.secret, req);
    await eventually(async () => (await deliveries(endpoint.id))[0]?.status === 'succeeded', { timeoutMs: 30_000, what: 'succeeded' });
    const [d] = await deliveries(endpoint.id);
    assert.deepEqual(d!.attempts.map((a: any) => a.status_code), [500, 500, 204]);
    assert.equal(d!.attempts[0].response_body, 'boom');
    assert.equal(d!.attempt_count, 3);
  });

  it("a failure starts the endpoint's failure clock and the next success stops it", async () => {
    const r = await receiver();
    let fail = true;
    r.respond((_req, res) => { res.writeHead(fail ? 500 : 204).end(); });
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    const failingSince = async () => (await ownerQuery<{ failing_since: Date | null }>(platform,
      'SELECT failing_since FROM webhook_endpoints WHERE id = $1', [endpoint.id]))[0]!.failing_since;
    await emitEvent(platform, tenant.tenantId);
    await eventually(async () => (await failingSince()) !== null, { timeoutMs: 30_000, what: 'failure clock started' });
    fail = false;
    await eventually(async () => (await deliveries(endpoint.id))[0]?.status === 'succeeded', { timeoutMs: 30_000, what: 'retry succeeded' });
    assert.equal(await failingSince(), null);
  });

  it('marks a delivery failed once the retry schedule is exhausted (1 + 4 attempts), then a manual retry sends it again', async () => {
    const r = await receiver();
    r.respond((_req, res) => { res.writeHead(503).end(); });
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    const eventId = await emitEvent(platform, tenant.tenantId);
    await eventually(async () => (await deliveries(endpoint.id))[0]?.status === 'failed', { timeoutMs: 30_000, what: 'delivery failed' });
    assert.equal(r.requests.length, 5);
    const [d] = await deliveries(endpoint.id);
    assert.equal(d!.attempt_count, 5);
    assert.equal(d!.next_attempt_at, null);

    r.respond((_req, res) => { res.writeHead(200).end(); });
    const retried = await platform.request('POST', `/v1/webhook_deliveries/${d!.id}/retry`, { token: tenant.token });
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.status, 'pending');
    await r.waitFor((reqs) => reqs.length === 6);
    assert.equal(r.requests[5]!.headers['webhook-id'], eventId);
    await eventually(async () => (await deliveries(endpoint.id))[0]?.status === 'succeeded', { timeoutMs: 30_000, what: 'succeeded after retry' });
  });

  it('treats a redirect as a failure and never follows it', async () => {
    const r = await receiver();
    r.respond((req, res) => {
      if (req.path === '/hooks') res.writeHead(302, { location: `http://127.0.0.1:${r.port}/elsewhere` }).end();
      else res.writeHead(200).end();
    });
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    await emitEvent(platform, tenant.tenantId);
    await eventually(async () => (await deliveries(endpoint.id))[0]?.attempts.length >= 2, { timeoutMs: 30_000, what: 'two attempts' });
    assert.ok(r.requests.every((q) => q.path === '/hooks'), 'the redirect target was never called');
    const [d] = await deliveries(endpoint.id);
    assert.equal(d!.attempts[0].status_code, 302);
    assert.equal(d!.attempts[0].outcome, 'failed');
    assert.equal(d!.attempts[0].error, 'redirect_not_followed');
    assert.notEqual(d!.status, 'succeeded');
  });

  it('410 Gone disables the endpoint and records webhook_endpoint.disabled (delivered to the other endpoints)', async () => {
    const gone = await receiver();
    gone.respond((_req, res) => { res.writeHead(410).end(); });
    const watcher = await receiver();
    const other = await createTenant(platform, { name: 'Gone Corp' });
    const goneEndpoint = await createEndpoint(platform, other.token, { url: gone.url, enabled_events: ['payment.*'] });
    const watcherEndpoint = await createEndpoint(platform, other.token, { url: watcher.url, enabled_events: ['webhook_endpoint.disabled'] });
    const goneEvent = await emitEvent(platform, other.tenantId);
    await watcher.waitFor((reqs) => reqs.length === 1);
    const event = verify(watcherEndpoint.secret, watcher.requests[0]!) as Record<string, any>;
    assert.equal(event.type, 'webhook_endpoint.disabled');
    assert.equal(event.data.object.id, goneEndpoint.id);
    assert.equal(event.data.object.disabled_reason, 'endpoint_gone');
    assert.equal(event.data.object.secret, undefined);
    const ep = await platform.request('GET', `/v1/webhook_endpoints/${goneEndpoint.id}`, { token: other.token });
    assert.equal(ep.body.status, 'disabled');
    assert.equal(ep.body.disabled_reason, 'endpoint_gone');
    // Nothing more goes to a disabled endpoint: an enabled endpoint of the same tenant, subscribed to the same
    // event, gets it; the disabled one does not. Asserted on the rows, which the fan-out wrote at commit: the
    // disabled endpoint has no delivery of the later event, so nothing can ever send it there, however slow the
    // worker is; its one delivery ended with the 410 (failed, one attempt), so it is not retried either.
    const canary = await receiver();
    await createEndpoint(platform, other.token, { url: canary.url, enabled_events: ['payment.*'] });
    const after = await emitEvent(platform, other.tenantId);
    await canary.waitFor((reqs) => reqs.some((q) => q.headers['webhook-id'] === after), 30_000);
    const goneDeliveries = await ownerQuery<{ event_id: string; status: string; attempt_count: number }>(platform,
      'SELECT event_id, status, attempt_count FROM webhook_deliveries WHERE endpoint_id = $1', [goneEndpoint.id]);
    assert.deepEqual(goneDeliveries.map((d) => ({ ...d })), [{ event_id: goneEvent, status: 'failed', attempt_count: 1 }]);
    assert.equal(gone.requests.length, 1);
    const list = await platform.request('GET', '/v1/events?type=webhook_endpoint.disabled', { token: other.token });
    assert.equal(list.body.data.length, 1);
  });

  it('honours Retry-After on 429/503', async () => {
    const r = await receiver();
    r.respond((req, res) => {
      if (r.requests.length === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200).end();
    });
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    await emitEvent(platform, tenant.tenantId);
    await r.waitFor((reqs) => reqs.length === 2, 30_000);
    // The compressed schedule would retry after ~50 ms; Retry-After: 1 pushes it to at least 1 s after the first
    // attempt. Measured on the platform's own attempt times (the next one is scheduled from the first's end), so a
    // slow first request cannot shrink the gap the way the receiver's arrival times could.
    const [d] = await eventually(async () => {
      const list = await deliveries(endpoint.id);
      return list[0]?.attempts.length >= 2 ? list : undefined;
    }, { timeoutMs: 30_000, what: 'both attempts recorded' });
    const times = (d!.attempts as Array<{ attempted_at: string }>).map((a) => Date.parse(a.attempted_at)).sort((a, b) => a - b);
    assert.ok(times[1]! - times[0]! >= 1000, `second attempt came ${times[1]! - times[0]!} ms after the first`);
  });

  it('signs with both secrets during a rotation overlap, and only the new one after it', async () => {
    const r = await receiver();
    const endpoint = await createEndpoint(platform, tenant.token, { url: r.url });
    const rotated = await platform.request('POST', `/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, { token: tenant.token, body: { expire_previous_after_seconds: 2 } });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(rotated.headers.get('cache-control'), 'no-store');
    const newSecret = rotated.body.secret as string;
    assert.match(newSecret, /^whsec_/);
    assert.notEqual(newSecret, endpoint.secret);
    assert.ok(rotated.body.previous_secret_expires_at);

    await emitEvent(platform, tenant.tenantId);
    await r.waitFor((reqs) => reqs.length === 1);
    const during = r.requests[0]!;
    assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
    verify(newSecret, during);
    verify(endpoint.secret, during);

    // the previous secret's expiry is a real instant: wait for it (state of the clock, not a guessed pause)
    const expiresAt = Date.parse(rotated.body.previous_secret_expires_at);
    await eventually(() => Date.now() > expiresAt + 10, { timeoutMs: 30_000, what: 'previous secret expired' });
    await emitEvent(platform, tenant.tenantId);
    await r.waitFor((reqs) => reqs.length === 2);
    const afterExpiry = r.requests[1]!;
    assert.equal(String(afterExpiry.headers['webhook-signature']).split(' ').length, 1);
    verify(newSecret, afterExpiry);
    assert.throws(() => verify(endpoint.secret, afterExpiry));
  });

  it('replays the events of a window to an endpoint as new deliveries with the original webhook-ids', async () => {
    const replayTenant = await createTenant(platform, { name: 'Replay Corp' });
    const from = Math.floor(Date.now() / 1000) - 1;
    const ids = [
      await emitEvent(platform, replayTenant.tenantId, 'payment.succeeded'),
      await emitEvent(platform, replayTenant.tenantId, 'refund.succeeded'),
      await emitEvent(platform, replayTenant.tenantId, 'payment.failed'),
    ];
    const r = await receiver();
    const endpoint = await createEndpoint(platform, replayTenant.token, { url: r.url, enabled_events: ['payment.*'] });
    const res = await platform.request('POST', `/v1/webhook_endpoints/${endpoint.id}/replay`, {
      token: replayTenant.token,
      body: { created_gte: String(from), created_lte: new Date(Date.now() + 1000).toISOString() },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.deliveries_created, 2);
    await r.waitFor((reqs) => reqs.length === 2);
    assert.deepEqual(new Set(r.requests.map((q) => q.headers['webhook-id'])), new Set([ids[0], ids[2]]));
    for (const req of r.requests) verify(endpoint.secret, req);

    const typed = await platform.request('POST', `/v1/webhook_endpoints/${endpoint.id}/replay`, {
      token: replayTenant.token,
      body: { created_gte: String(from), created_lte: String(from + 3600), types: ['payment.failed'] },
    });
    assert.equal(typed.body.deliveries_created, 1);
    await r.waitFor((reqs) => reqs.length === 3);
    assert.equal(r.requests[2]!.headers['webhook-id'], ids[2]);

    const bad = await platform.request('POST', `/v1/webhook_endpoints/${endpoint.id}/replay`, {
      token: replayTenant.token, body: { created_gte: String(from + 10), created_lte: String(from) },
    });
    assert.equal(bad.status, 400);
    const other = await platform.request('POST', `/v1/webhook_endpoints/${endpoint.id}/replay`, {
      token: tenant.token, body: { created_gte: String(from), created_lte: String(from + 10) },
    });
    assert.equal(other.status, 404);
  });

  it('never delivers an event whose transaction rolled back', async () => {
    const r = await receiver();
    const rollbackTenant = await createTenant(platform, { name: 'Rollback Corp' });
    const endpoint = await createEndpoint(platform, rollbackTenant.token, { url: r.url });
    const { withTenantTx } = await import('../../src/platform/db.js');
    const { recordEventAndFanOut } = await import('../../src/modules/webhooks/index.js');
    await assert.rejects(withTenantTx(platform.database.db, rollbackTenant.tenantId, async (tx) => {
      await recordEventAndFanOut(tx, rollbackTenant.tenantId, { type: 'payment.succeeded', objectType: 'payment', objectId: 'pay_rolledback', object: { id: 'pay_rolledback' } });
      throw new Error('forced rollback');
    }), /forced rollback/);
    const committed = await emitEvent(platform, rollbackTenant.tenantId);
    await r.waitFor((reqs) => reqs.length === 1);
    // The endpoint's only delivery is the committed event's, and it succeeded: nothing else can ever be sent.
    const only = await eventually(async () => {
      const res = await platform.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, { token: rollbackTenant.token });
      return res.body.data.every((d: { status: string }) => d.status === 'succeeded') ? res.body.data as Array<{ event_id: string }> : undefined;
    }, { timeoutMs: 30_000, what: 'delivery recorded' });
    assert.deepEqual(only.map((d) => d.event_id), [committed]);
    assert.deepEqual(r.requests.map((q) => q.headers['webhook-id']), [committed]);
    const events = await platform.request('GET', '/v1/events', { token: rollbackTenant.token });
    assert.deepEqual(events.body.data.map((e: any) => e.id), [committed]);
  });

  it('exports attempt outcomes, delivery lag, backlog and disabled endpoints as metrics', async () => {
    await eventually(async () => (await metrics.registry.getSingleMetricAsString('nimbuspay_webhook_endpoints_disabled')).includes('nimbuspay_webhook_endpoints_disabled{role="worker"} 1'), { timeoutMs: 30_000, what: 'disabled gauge' });
    const text = await metrics.registry.metrics();
    assert.match(text, /nimbuspay_webhook_delivery_attempts_total\{outcome="delivered",role="worker"\} [1-9]/);
    assert.match(text, /nimbuspay_webhook_delivery_attempts_total\{outcome="failed",role="worker"\} [1-9]/);
    assert.match(text, /nimbuspay_webhook_delivery_attempts_total\{outcome="endpoint_gone",role="worker"\} 1/);
    assert.match(text, /nimbuspay_webhook_delivery_lag_seconds_count\{role="worker"\} [1-9]/);
    assert.match(text, /nimbuspay_webhook_deliveries_pending\{role="worker"\} \d+/);
  });
});
