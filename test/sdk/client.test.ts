import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError, InvalidRequestError, NimbusPay, NimbusPayError, PermissionError, type Payment,
} from '@nimbuspay/sdk';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ownerQuery } from '../payments/helpers.js';
import { card, startCountingProxy, type CountingProxy } from './helpers.js';

// The SDK against the real platform, through a recording HTTP proxy: token requests and pages are counted as the
// server received them, and the one 401 is the platform's own answer to a token it refuses.
describe('sdk: client against the platform', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let proxy: CountingProxy;
  const sdk = (options: Partial<ConstructorParameters<typeof NimbusPay>[0]> = {}) =>
    new NimbusPay({ baseUrl: proxy.url, clientId: tenant.clientId, clientSecret: tenant.clientSecret, ...options });

  before(async () => {
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
    proxy = await startCountingProxy(platform.baseUrl);
  });
  after(async () => {
    await proxy?.close();
    await platform?.close();
  });

  it('concurrent calls share one token request; the token is reused until shortly before it expires, then refreshed', async () => {
    let clockOffsetMs = 0;
    const np = sdk({ now: () => Date.now() + clockOffsetMs });
    const tokensBefore = proxy.count('POST', '/oauth/token');
    await Promise.all(Array.from({ length: 5 }, () => np.payments.list({ limit: 1 })));
    await np.events.list({ limit: 1 });
    assert.equal(proxy.count('POST', '/oauth/token') - tokensBefore, 1, 'six calls, one token');

    clockOffsetMs = 14 * 60_000; // tokens live 15 minutes: a minute before expiry the SDK asks for a new one
    await np.payments.list({ limit: 1 });
    assert.equal(proxy.count('POST', '/oauth/token') - tokensBefore, 2, 'refreshed before expiry');
    await np.payments.list({ limit: 1 });
    assert.equal(proxy.count('POST', '/oauth/token') - tokensBefore, 2, 'the new token is cached again');
  });

  it('a token the platform refuses (401 invalid_token) is replaced once and the call carried out', async () => {
    const np = sdk();
    await np.payments.list({ limit: 1 });
    const tokens = proxy.count('POST', '/oauth/token');
    const lists = proxy.count('GET', '/v1/payments');
    proxy.spoilNextBearerToken();
    const page = await np.payments.list({ limit: 1 });
    assert.equal(page.object, 'list');
    assert.equal(proxy.count('POST', '/oauth/token'), tokens + 1, 'one new token');
    assert.equal(proxy.count('GET', '/v1/payments'), lists + 2, 'the refused call and its retry');
  });

  it('wrong credentials are an AuthenticationError that never carries the secret', async () => {
    const secret = `${tenant.clientSecret}-wrong`;
    const np = sdk({ clientSecret: secret, maxRetries: 0 });
    const error = await np.payments.list().then(() => assert.fail('expected an error'), (e: unknown) => e);
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.equal(error.status, 401);
    assert.equal(error.code, 'invalid_client');
    const everything = `${error.message} ${error.stack} ${JSON.stringify(error)} ${JSON.stringify(error.headers)}`;
    assert.ok(!everything.includes(secret) && !everything.includes(tenant.clientSecret), 'the secret is not in the error');
  });

  it('errors are typed and carry status, code, request id and headers; another tenant\'s payment is the same 404', async () => {
    const np = sdk();
    const missing = await np.payments.retrieve('pay_0000000000000000000000000').catch((e: unknown) => e);
    assert.ok(missing instanceof InvalidRequestError && missing instanceof NimbusPayError, String(missing));
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'resource_not_found');
    assert.equal(missing.type, 'invalid_request_error');
    assert.match(missing.requestId ?? '', /^req_/);
    assert.equal(missing.requestId, missing.headers['x-request-id']);

    const other = await createTenant(platform, { name: 'Other Corp' });
    const theirs = await new NimbusPay({ baseUrl: platform.baseUrl, clientId: other.clientId, clientSecret: other.clientSecret })
      .payments.create({ amount: 500, currency: 'usd', payment_method: { type: 'card', card: card() } });
    const notOurs = await np.payments.retrieve(theirs.id).catch((e: unknown) => e);
    assert.ok(notOurs instanceof InvalidRequestError);
    assert.equal(notOurs.status, 404);
    assert.equal(notOurs.code, missing.code);

    const invalid = await np.payments.create({ amount: -5, currency: 'usd', payment_method: { type: 'card', card: card() } }).catch((e: unknown) => e);
    assert.ok(invalid instanceof InvalidRequestError, String(invalid));
    assert.equal(invalid.status, 400);
    assert.match(invalid.requestId ?? '', /^req_/);

    const readOnly = await createTenant(platform, { name: 'Read Only', scopes: ['payments:read'] });
    const denied = await new NimbusPay({ baseUrl: platform.baseUrl, clientId: readOnly.clientId, clientSecret: readOnly.clientSecret })
      .payments.create({ amount: 500, currency: 'usd', payment_method: { type: 'card', card: card() } }).catch((e: unknown) => e);
    assert.ok(denied instanceof PermissionError, String(denied));
    assert.equal(denied.status, 403);
    assert.equal(denied.code, 'insufficient_scope');
  });

  it('the same idempotency key replays the first payment instead of charging twice', async () => {
    const np = sdk();
    const key = `sdk-test-${Date.now()}`;
    const params = { amount: 1234, currency: 'usd', payment_method: { type: 'card' as const, card: card() } };
    const first = await np.payments.create(params, { idempotencyKey: key });
    const again = await np.payments.create(params, { idempotencyKey: key });
    assert.equal(again.id, first.id);
    const rows = await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM payments WHERE amount = 1234 AND tenant_id = $1', [tenant.tenantId]);
    assert.equal(rows[0]!.n, 1);
  });

  it('list() pages through every payment with starting_after, as a Page and as an async iterable', async () => {
    const fresh = await createTenant(platform, { name: 'Pages Inc' });
    const np = new NimbusPay({ baseUrl: proxy.url, clientId: fresh.clientId, clientSecret: fresh.clientSecret });
    const created: Payment[] = [];
    for (let i = 0; i < 5; i++) created.push(await np.payments.create({ amount: 100 + i, currency: 'usd', payment_method: { type: 'card', card: card() } }));
    const newestFirst = created.map((p) => p.id).reverse();

    const first = await np.payments.list({ limit: 2 });
    assert.deepEqual(first.data.map((p) => p.id), newestFirst.slice(0, 2));
    assert.equal(first.has_more, true);

    const pagesBefore = proxy.count('GET', '/v1/payments?');
    const seen: string[] = [];
    for await (const payment of np.payments.list({ limit: 2 })) seen.push(payment.id);
    assert.deepEqual(seen, newestFirst);
    assert.equal(proxy.count('GET', '/v1/payments?') - pagesBefore, 3, '2 + 2 + 1');

    const capped = await (await np.payments.list({ limit: 2 })).toArray({ max: 3 });
    assert.deepEqual(capped.map((p) => p.id), newestFirst.slice(0, 3));
    const newer: string[] = [];
    for await (const payment of np.payments.list({ limit: 2, ending_before: newestFirst[4]! })) newer.push(payment.id);
    assert.deepEqual(newer, newestFirst.slice(0, 4).reverse(), 'ending_before walks towards newer payments');
  });

  it('capture, refund and cancel move money through the typed methods; events are listed and retrieved', async () => {
    const np = sdk();
    const authorized = await np.payments.create({ amount: 5000, currency: 'eur', capture_method: 'manual', payment_method: { type: 'card', card: card() } });
    assert.equal(authorized.status, 'requires_capture');
    const captured = await np.payments.capture(authorized.id);
    assert.equal(captured.status, 'succeeded');
    const refund = await np.refunds.create(captured.id, { amount: 1500 });
    assert.equal(refund.amount, 1500);
    assert.equal((await np.refunds.retrieve(refund.id)).id, refund.id);
    assert.deepEqual((await np.refunds.list(captured.id)).data.map((r) => r.id), [refund.id]);

    const toCancel = await np.payments.create({ amount: 700, currency: 'eur', capture_method: 'manual', payment_method: { type: 'card', card: card() } });
    assert.equal((await np.payments.cancel(toCancel.id, { cancellation_reason: 'abandoned' })).status, 'canceled');

    const events = await np.events.list({ object_id: captured.id, limit: 10 });
    assert.ok(events.data.some((e) => e.type === 'payment.succeeded'), events.data.map((e) => e.type).join());
    const event = await np.events.retrieve(events.data[0]!.id);
    assert.equal(event.id, events.data[0]!.id);
  });

  it('webhook endpoints: create (with its secret), list, update, rotate the secret, list deliveries, delete', async () => {
    const np = sdk();
    const endpoint = await np.webhookEndpoints.create({ url: 'http://127.0.0.1:9/hooks', enabled_events: ['payment.*'] });
    assert.match(endpoint.secret, /^whsec_/);
    assert.ok((await np.webhookEndpoints.list()).data.some((e) => e.id === endpoint.id));
    assert.equal((await np.webhookEndpoints.retrieve(endpoint.id)).url, 'http://127.0.0.1:9/hooks');
    assert.equal((await np.webhookEndpoints.update(endpoint.id, { description: 'sdk test' })).description, 'sdk test');
    const rotated = await np.webhookEndpoints.rotateSecret(endpoint.id, { expire_previous_after_seconds: 0 });
    assert.notEqual(rotated.secret, endpoint.secret);
    assert.ok(Array.isArray((await np.webhookEndpoints.listDeliveries(endpoint.id)).data));
    assert.equal((await np.webhookEndpoints.del(endpoint.id)).deleted, true);
    const gone = await np.webhookEndpoints.retrieve(endpoint.id).catch((e: unknown) => e);
    assert.ok(gone instanceof NimbusPayError && gone.status === 404);
  });

  it('request() reaches any endpoint with the same token, retries and errors', async () => {
    const np = sdk();
    const list = await np.request<{ object: string; data: unknown[] }>('GET', '/v1/payments', { query: { limit: 1 } });
    assert.equal(list.object, 'list');
    const unknown = await np.request('GET', '/v1/no_such_route').catch((e: unknown) => e);
    assert.ok(unknown instanceof InvalidRequestError && unknown.status === 404, String(unknown));
  });
});
