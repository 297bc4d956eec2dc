/**
 * Support with the worker running: a failed webhook delivery seen on the payment's timeline (real loopback
 * receiver answering 500), retried by support; the request log (route template, error code, object id, Logs
 * Insights link) and its purge; worker heartbeats on the health page; the recorder's bound while the database is away.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDb } from '../../src/platform/db.js';
import { createMetrics } from '../../src/platform/metrics.js';
import { createRequestLogRecorder, purgeRequestLog } from '../../src/modules/support/index.js';
import { freePort, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery, post } from '../payments/helpers.js';
import { createEndpoint, startReceiver, type Receiver } from '../webhooks/helpers.js';
import { assertError, get, ok, supportClient, type SupportClient } from './helpers.js';
import { eventually } from '../helpers/eventually.js';

let platform: TestPlatform;
let tenant: TestTenant;
let agent: SupportClient;
let operator: SupportClient;
let receiver: Receiver;

before(async () => {
  receiver = await startReceiver();
  platform = await startTestPlatform({
    worker: true,
    env: { WEBHOOK_RETRY_SCHEDULE_MS: '20,20', LOGS_INSIGHTS_LOG_GROUP: '/nimbuspay/api', AWS_REGION: 'eu-west-1' },
  });
  tenant = await createTenant(platform);
  agent = await supportClient(platform, ['support:read']);
  operator = await supportClient(platform, ['support:read', 'support:write']);
});
after(async () => {
  await platform?.close();
  await receiver.close();
});

describe('a failed webhook delivery on the timeline', () => {
  it('shows each attempt with its status code, and support retries it with an audit entry on the timeline', async () => {
    receiver.respond((_req, res) => { res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver broke'); });
    const endpoint = await createEndpoint(platform, tenant.token, { url: receiver.url, enabled_events: ['payment.succeeded'] });
    const created = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
    assert.equal(created.status, 201, created.text);
    const paymentId = created.body.id;
    const failed = await eventually(async () => {
      const list = await ok(platform, agent.token, `/v1/support/webhook_deliveries?tenant=${tenant.tenantId}&endpoint=${endpoint.id}&status=failed`);
      return list.data[0];
    }, { timeoutMs: 30_000, what: 'delivery failed' });
    assert.equal(failed.last_status_code, 500);
    assert.equal(failed.endpoint_url, receiver.url);
    assert.equal(failed.event_type, 'payment.succeeded');

    const detail = await ok(platform, agent.token, `/v1/support/webhook_deliveries/${failed.id}`);
    assert.equal(detail.attempts.length, failed.attempt_count);
    assert.ok(detail.attempts.every((a: any) => a.status_code === 500 && a.outcome === 'failed' && typeof a.latency_ms === 'number'));
    assert.ok(!JSON.stringify(detail).includes('receiver broke'), 'the receiver\'s body is not shown');

    const timeline = await ok(platform, agent.token, `/v1/support/payments/${paymentId}/timeline`);
    const at = timeline.entries.map((e: any) => e.at);
    assert.deepEqual(at, [...at].sort(), 'ascending time');
    const kinds = new Set(timeline.entries.map((e: any) => e.kind));
    for (const kind of ['transition', 'processor_attempt', 'event', 'webhook_delivery', 'webhook_attempt']) assert.ok(kinds.has(kind), `${kind} in ${[...kinds]}`);
    const attempts = timeline.entries.filter((e: any) => e.kind === 'webhook_attempt');
    assert.equal(attempts.length, failed.attempt_count);
    assert.equal(attempts[0].data.delivery_id, failed.id);
    assert.equal(attempts[0].data.endpoint_id, endpoint.id);
    assert.equal(attempts[0].data.status_code, 500);
    assert.equal(attempts[0].data.outcome, 'failed');
    const attempt = timeline.entries.find((e: any) => e.kind === 'processor_attempt');
    assert.equal(attempt.data.operation, 'authorize');
    assert.equal(attempt.data.status, 'succeeded');
    assert.equal(attempt.data.reconcile_count, 0);

    // the request that created the payment, with its Logs Insights link (the request log is written in batches)
    const withRequest = await eventually(async () => {
      const t = await ok(platform, agent.token, `/v1/support/payments/${paymentId}/timeline`);
      return t.entries.find((e: any) => e.kind === 'request') ? t : undefined;
    }, { timeoutMs: 30_000, what: 'request on the timeline' });
    const request = withRequest.entries.find((e: any) => e.kind === 'request');
    assert.equal(request.data.request_id, created.headers.get('x-request-id'));
    assert.equal(request.data.route, '/v1/payments');
    assert.equal(request.data.status_code, 201);
    assert.equal(request.data.client_id, tenant.clientId);
    const url = new URL(request.data.logs_insights_url);
    assert.equal(url.host, 'eu-west-1.console.aws.amazon.com');
    assert.match(decodeURIComponent(url.hash.replace(/\$/g, '%')), /logs-insights\?queryDetail=.*nimbuspay/);

    receiver.respond((_req, res) => { res.writeHead(200).end('ok'); });
    const retried = await platform.request('POST', `/v1/support/webhook_deliveries/${failed.id}/retry`, { token: operator.token, body: { reason: 'receiver fixed, ticket 99' } });
    assert.equal(retried.status, 200, retried.text);
    await eventually(async () => (await ok(platform, agent.token, `/v1/support/webhook_deliveries/${failed.id}`)).status === 'succeeded', { timeoutMs: 30_000, what: 'retried delivery succeeded' });
    const after = await ok(platform, agent.token, `/v1/support/payments/${paymentId}/timeline`);
    const audit = after.entries.find((e: any) => e.kind === 'audit');
    assert.equal(audit.data.action, 'support.webhook_delivery.retry');
    assert.equal(audit.data.actor_id, operator.clientId);
    assert.equal(audit.data.before.status, 'failed');
    assert.equal(audit.data.after.status, 'pending');
    assert.ok(after.entries.some((e: any) => e.kind === 'webhook_attempt' && e.data.status_code === 200));

    const health = await ok(platform, agent.token, '/v1/support/health');
    const troubled = health.webhooks.endpoints.find((e: any) => e.id === endpoint.id);
    assert.ok(troubled === undefined || troubled.tenant_id === tenant.tenantId);
  });
});

describe('request log', () => {
  it('records route template, status, error code, tenant and client; never bodies, headers or tokens', async () => {
    const missing = await platform.request('GET', '/v1/payments/pay_00000000000000000000000000', { token: tenant.token });
    assert.equal(missing.status, 404);
    const badClient = await fetch(`${platform.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(badClient.status, 401);
    const requestId = missing.headers.get('x-request-id')!;
    const entry = await eventually(async () => (await ok(platform, agent.token, `/v1/support/requests?request_id=${requestId}`)).data[0], { timeoutMs: 30_000, what: 'request logged' });
    assert.equal(entry.route, '/v1/payments/:id');
    assert.equal(entry.method, 'GET');
    assert.equal(entry.status_code, 404);
    assert.equal(entry.error_code, 'resource_not_found');
    assert.equal(entry.object_id, 'pay_00000000000000000000000000');
    assert.equal(entry.tenant_id, tenant.tenantId);
    assert.equal(entry.client_id, tenant.clientId);
    assert.equal(entry.staff_id, null);
    assert.ok(entry.logs_insights_url.startsWith('https://eu-west-1.console.aws.amazon.com/'));
    const oauth = await eventually(async () => (await ok(platform, agent.token, `/v1/support/requests?request_id=${badClient.headers.get('x-request-id')}`)).data[0], { timeoutMs: 30_000, what: 'token request logged' });
    assert.equal(oauth.route, '/oauth/token');
    assert.equal(oauth.error_code, 'invalid_client');
    const paid = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
    const refund = await post(platform, tenant.token, `/v1/payments/${paid.body.id}/refunds`, { amount: 100 });
    assert.equal(refund.status, 201, refund.text);
    const refundRequest = await eventually(async () => (await ok(platform, agent.token, `/v1/support/requests?request_id=${refund.headers.get('x-request-id')}`)).data[0], { timeoutMs: 30_000, what: 'refund request logged' });
    assert.equal(refundRequest.route, '/v1/payments/:id/refunds');
    assert.equal(refundRequest.object_id, refund.body.id, 'a create names the object it created');
    const timeline = await ok(platform, agent.token, `/v1/support/payments/${paid.body.id}/timeline`);
    assert.ok(timeline.entries.some((e: any) => e.kind === 'request' && e.data.object_id === refund.body.id));
    assert.ok(timeline.entries.some((e: any) => e.kind === 'refund' && e.id === refund.body.id));
    const fourxx = await ok(platform, agent.token, `/v1/support/requests?tenant=${tenant.tenantId}&status_class=4xx&route=${encodeURIComponent('/v1/payments/:id')}`);
    assert.ok(fourxx.data.every((r: any) => r.status_code >= 400 && r.status_code < 500 && r.route === '/v1/payments/:id'));
    assert.ok(fourxx.data.some((r: any) => r.request_id === requestId));
    const page = await ok(platform, agent.token, '/v1/support/requests?limit=2');
    const next = await ok(platform, agent.token, `/v1/support/requests?limit=2&starting_after=${page.data[1].id}`);
    assert.ok(BigInt(next.data[0].id) < BigInt(page.data[1].id));
    const rows = JSON.stringify(await ownerQuery(platform, 'SELECT * FROM api_requests'));
    assert.ok(!rows.includes(tenant.token) && !rows.includes(tenant.clientSecret) && !/bearer|4242424242424242/i.test(rows));
    assertError(await get(platform, agent.token, '/v1/support/requests?status_class=6xx'), 400, 'parameter_invalid_enum', 'status_class');
    assertError(await get(platform, agent.token, '/v1/support/requests?starting_after=req_1'), 400, 'parameter_invalid_format', 'starting_after');
  });

  it('the purge removes rows older than the retention, in batches, and keeps the rest', async () => {
    await ownerQuery(platform, `INSERT INTO api_requests (request_id, method, route, status_code, latency_ms, created_at)
      SELECT 'old-' || g, 'GET', '/v1/payments', 200, 1, now() - interval '20 days' FROM generate_series(1, 30) g`);
    const recent = (await ownerQuery<{ n: number }>(platform, "SELECT count(*)::int AS n FROM api_requests WHERE request_id NOT LIKE 'old-%'"))[0]!.n;
    assert.equal(await purgeRequestLog(platform.database.db, 14), 30);
    assert.equal(await purgeRequestLog(platform.database.db, 14), 0);
    assert.equal((await ownerQuery(platform, "SELECT 1 FROM api_requests WHERE request_id LIKE 'old-%'")).length, 0);
    assert.ok((await ownerQuery<{ n: number }>(platform, "SELECT count(*)::int AS n FROM api_requests WHERE request_id NOT LIKE 'old-%'"))[0]!.n >= recent);
  });

  it('while the database is away the buffer is bounded and what does not fit is dropped and counted', async () => {
    const metrics = createMetrics({ role: 'test', collectDefaults: false });
    const nowhere = createDb({ connectionString: `postgres://x:y@127.0.0.1:${await freePort()}/none`, max: 1, applicationName: 'test' });
    const recorder = createRequestLogRecorder({ db: nowhere.db, logger: platform.logger, metrics }, { maxBuffered: 3, batchSize: 2, flushIntervalMs: 10 });
    try {
      const entry = { request_id: 'r', method: 'GET', route: '/v1/x', status_code: 200, latency_ms: 1, created_at: new Date() };
      for (let i = 0; i < 5; i++) recorder.record(entry);
      await recorder.flush();
      assert.equal((await metrics.requestLogDropped.get()).values[0]?.value, 2);
    } finally {
      await recorder.close();
      await nowhere.close();
    }
    assert.equal((await metrics.requestLogDropped.get()).values[0]?.value, 5, 'what was left at close is counted too');
  });
});

describe('health', () => {
  it('answers with the started worker, the processor, the backlog and the migrations', async () => {
    await ownerQuery(platform, "INSERT INTO worker_heartbeats VALUES ('gone:1', 'gone', now() - interval '3 days', now() - interval '2 days')");
    const health = await eventually(async () => {
      const h = await ok(platform, agent.token, '/v1/support/health');
      return h.workers.instances.some((w: any) => w.worker_id === 'gone:1') ? undefined : h;
    }, { timeoutMs: 30_000, what: 'stale heartbeat removed' });
    assert.equal(health.object, 'system_health');
    assert.equal(health.environment, 'development');
    assert.equal(health.api.ready, true);
    assert.equal(typeof health.api.version, 'string');
    assert.equal(health.workers.ready, true);
    assert.equal(health.workers.instances.length, 1);
    assert.match(health.workers.instances[0].worker_id, new RegExp(`:${process.pid}$`));
    assert.equal(health.processor.name, 'sandbox');
    assert.equal(health.processor.circuit_state, 'closed');
    assert.ok(health.processor.attempts_15m >= 1);
    assert.equal(health.stuck_payments.count, 0);
    assert.deepEqual(health.migrations.applied, health.migrations.expected);
    assertError(await get(platform, tenant.token, '/v1/support/health'), 403, 'insufficient_scope');
  });
});
