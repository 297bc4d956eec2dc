import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, ConnectionError, IdempotencyError, InvalidRequestError, NimbusPay, RateLimitError, type PaymentCreateParams } from '@nimbuspay/sdk';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { ownerQuery } from '../payments/helpers.js';
import { card, startScriptedServer, type ScriptedAnswer, type ScriptedServer } from './helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';
import { useTenantPlatform } from '../helpers/tenant-platform.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const paymentParams: PaymentCreateParams = { amount: 2500, currency: 'usd', payment_method: { type: 'card', card: card() } };
const apiError = (status: number, code: string, type = 'api_error') => ({ status, body: { error: { type, code, message: code, request_id: `req_${code}` } } });

describe('sdk: a connection cut after the platform received a payment', () => {
  const fx = useTenantPlatform({
    beforeClose: async ({ platform }) => {
      await sandboxControl(platform, { latency_ms: 0 }).catch(() => {});
    },
  });

  it('is retried with the same Idempotency-Key: the SDK returns the one payment, and the database holds one', async (t) => {
    const tcp = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(fx.platform.baseUrl).port) });
    t.after(() => tcp.close());
    const np = new NimbusPay({ baseUrl: `http://127.0.0.1:${tcp.port}`, clientId: fx.tenant.clientId, clientSecret: fx.tenant.clientSecret, maxRetries: 6, retryDelayMs: 100 });
    await np.payments.list({ limit: 1 }); // the token first, so the cut hits the payment request only
    // the processor answers slowly: the payment request is inside the platform while the connection is cut
    await sandboxControl(fx.platform, { latency_ms: 700 });
    const pending = np.payments.create({ ...paymentParams, amount: 4321 });
    const countPayments = async () => (await ownerQuery<{ id: string }>(fx.platform, 'SELECT id FROM payments WHERE tenant_id = $1 AND amount = 4321', [fx.tenant.tenantId]));
    await eventually(async () => ((await countPayments()).length > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
    tcp.cut();
    tcp.restore();
    const payment = await pending;
    const rows = await countPayments();
    assert.equal(rows.length, 1, 'exactly one payment');
    assert.equal(payment.id, rows[0]!.id);
    assert.equal(payment.status, 'succeeded');
    // the platform saw the cut request and at least one retry of it (answered 409 in flight, then the replay)
    const creates = fx.platform.logs.records().filter((r) => r.msg === 'request completed' && r.method === 'POST' && r.route === '/v1/payments' && r.tenant_id === fx.tenant.tenantId);
    assert.ok(creates.length >= 2, `${creates.length} POST /v1/payments logged`);
  });
});

describe('sdk: retries, backoff and timeouts (loopback server)', () => {
  const servers: ScriptedServer[] = [];
  after(async () => { await Promise.all(servers.map((s) => s.close())); });
  async function scripted(answer: (req: { method: string; path: string; index: number }) => ScriptedAnswer | undefined) {
    const server = await startScriptedServer(answer);
    servers.push(server);
    const sdk = (options: Partial<ConstructorParameters<typeof NimbusPay>[0]> = {}) =>
      new NimbusPay({ baseUrl: server.url, clientId: 'cli_test', clientSecret: 'shh-secret-value', retryDelayMs: 20, ...options });
    return { server, np: sdk(), sdk, calls: (path: string) => server.received.filter((r) => r.path.startsWith(path)) };
  }

  it('429 waits for Retry-After, then succeeds', async () => {
    const { np, calls } = await scripted(({ path, index }) => (path.startsWith('/v1/events')
      ? (index === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: apiError(429, 'rate_limited', 'rate_limit_error').body } : { status: 200, body: { object: 'list', data: [], has_more: false } })
      : undefined));
    const page = await np.events.list();
    assert.equal(page.has_more, false);
    const [first, second] = calls('/v1/events');
    assert.ok(second!.at - first!.at >= 1000, `waited ${second!.at - first!.at} ms`);
  });

  it('a Retry-After beyond maxRetryAfterMs is not waited for: RateLimitError with retryAfterSeconds', async () => {
    const { np, calls } = await scripted(({ path }) => (path.startsWith('/v1/events') ? { status: 429, headers: { 'retry-after': '120' }, body: apiError(429, 'rate_limited', 'rate_limit_error').body } : undefined));
    const error = await np.events.list().catch((e: unknown) => e);
    assert.ok(error instanceof RateLimitError, String(error));
    assert.equal(error.retryAfterSeconds, 120);
    assert.equal(calls('/v1/events').length, 1);
  });

  it('the token endpoint\'s 429 slow_down is waited out too', async () => {
    const { np, calls } = await scripted(({ path, index }) => (path === '/oauth/token' && index === 0
      ? { status: 429, headers: { 'retry-after': '0' }, body: { error: 'slow_down', error_description: 'retry later' } }
      : path.startsWith('/v1/events') ? { status: 200, body: { object: 'list', data: [], has_more: false } } : undefined));
    await np.events.list();
    assert.equal(calls('/oauth/token').length, 2);
  });

  it('a GET is retried on 500/502/503/504 up to maxRetries, then ApiError with the request id', async () => {
    const { np, calls } = await scripted(({ path }) => (path.startsWith('/v1/events') ? apiError(503, 'service_unavailable') : undefined));
    const error = await np.events.list().catch((e: unknown) => e);
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 503);
    assert.equal(error.requestId, 'req_service_unavailable');
    assert.equal(calls('/v1/events').length, 3, 'first try + maxRetries (2)');
  });

  it('a money-moving POST is retried with one UUID v4 Idempotency-Key; 409 idempotency_key_in_use is waited out', async () => {
    const { np, calls } = await scripted(({ path, index }) => (path === '/v1/payments'
      ? [apiError(502, 'bad_gateway'), apiError(409, 'idempotency_key_in_use', 'idempotency_error'), { status: 201, body: { id: 'pay_1', object: 'payment' } }][index]
      : undefined));
    const payment = await np.payments.create(paymentParams, {});
    assert.equal(payment.id, 'pay_1');
    const keys = calls('/v1/payments').map((r) => r.headers['idempotency-key']);
    assert.equal(keys.length, 3);
    assert.match(String(keys[0]), UUID_V4);
    assert.deepEqual(new Set(keys).size, 1, 'the same key on every attempt');
    const bodies = new Set(calls('/v1/payments').map((r) => r.body));
    assert.equal(bodies.size, 1, 'the same body on every attempt');
  });

  it('each call gets its own key; a caller-given key is used as is', async () => {
    const { np, calls } = await scripted(({ path }) => (path.includes('/capture') ? { status: 200, body: { id: 'pay_1' } } : undefined));
    await np.payments.capture('pay_1');
    await np.payments.capture('pay_1', { amount: 5 }, { idempotencyKey: 'order-42-capture' });
    const keys = calls('/v1/payments/pay_1/capture').map((r) => r.headers['idempotency-key']);
    assert.match(String(keys[0]), UUID_V4);
    assert.equal(keys[1], 'order-42-capture');
  });

  it('a POST without an Idempotency-Key is not retried after a 500; other 4xx are never retried', async () => {
    const { np, calls } = await scripted(({ path }) => (path === '/v1/webhook_endpoints' ? apiError(500, 'internal_error')
      : path.startsWith('/v1/payments/pay_x') ? apiError(400, 'parameter_invalid_integer', 'invalid_request_error') : undefined));
    const error = await np.webhookEndpoints.create({ url: 'https://example.com/hooks', enabled_events: ['*'] }).catch((e: unknown) => e);
    assert.ok(error instanceof ApiError && error.status === 500, String(error));
    assert.equal(calls('/v1/webhook_endpoints').length, 1);
    const bad = await np.payments.capture('pay_x').catch((e: unknown) => e);
    assert.ok(bad instanceof InvalidRequestError && bad.code === 'parameter_invalid_integer', String(bad));
    assert.equal(calls('/v1/payments/pay_x').length, 1);
    const reused = await (await scripted(({ path }) => (path === '/v1/payments' ? apiError(422, 'idempotency_key_reused', 'idempotency_error') : undefined))).np.payments.create(paymentParams).catch((e: unknown) => e);
    assert.ok(reused instanceof IdempotencyError && reused.status === 422, String(reused));
  });

  it('an attempt that gets no answer times out (ConnectionError) and a GET is tried again', async () => {
    const { sdk, calls } = await scripted(({ path }) => (path.startsWith('/v1/events') ? 'hang' : undefined));
    const error = await sdk({ timeoutMs: 200, maxRetries: 1 }).events.list().catch((e: unknown) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.code, 'timeout');
    assert.equal(error.status, 0);
    assert.equal(calls('/v1/events').length, 2);
    assert.ok(!`${error.message} ${JSON.stringify(error)}`.includes('shh-secret-value'));
  });

  it('the client secret travels only as Basic credentials to the token endpoint', async () => {
    const { np, server } = await scripted(({ path }) => (path.startsWith('/v1/events') ? { status: 200, body: { object: 'list', data: [], has_more: false } } : undefined));
    await np.events.list();
    const token = server.received.find((r) => r.path === '/oauth/token')!;
    assert.equal(token.headers.authorization, `Basic ${Buffer.from('cli_test:shh-secret-value').toString('base64')}`);
    assert.equal(token.body, 'grant_type=client_credentials');
    const call = server.received.find((r) => r.path.startsWith('/v1/events'))!;
    assert.match(String(call.headers.authorization), /^Bearer scripted-token-/);
    assert.match(String(call.headers['user-agent']), /^nimbuspay-node\/0\.1\.0 /);
  });
});
