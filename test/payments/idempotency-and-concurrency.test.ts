import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, countRows, ownerQuery, post } from './helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';

describe('idempotency keys and concurrency on money-moving requests', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let other: TestTenant;
  before(async () => {
    platform = await startTestPlatform({ env: { SANDBOX_LATENCY_MS: '0' } });
    tenant = await createTenant(platform);
    other = await createTenant(platform, { name: 'Other Co' });
  });
  after(async () => platform.close());

  it('same key + same body replays the stored answer with Idempotent-Replayed, no second charge', async () => {
    const key = randomUUID();
    const first = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const second = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    assert.equal(second.status, 201);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(second.body, first.body);
    const rows = await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM payments WHERE idempotency_key = $1', [key]);
    assert.equal(rows[0]!.n, 1);
  });

  it('a replayed decline is the same failed payment', async () => {
    const key = randomUUID();
    const first = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.declined), key);
    const second = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.declined), key);
    assert.equal(second.body.id, first.body.id);
    assert.equal(second.body.failure_code, 'card_declined');
  });

  it('same key + different body → 422 idempotency_key_reused, nothing written', async () => {
    const key = randomUUID();
    await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    const before = await countRows(platform, 'payments');
    const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { amount: 2001 }), key);
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, 'idempotency_key_reused');
    assert.equal(await countRows(platform, 'payments'), before);
  });

  it('keys are scoped per tenant: the same key in another tenant is a new request', async () => {
    const key = randomUUID();
    const a = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    const b = await post(platform, other.token, '/v1/payments', cardBody(CARDS.visa), key);
    assert.equal(b.status, 201);
    assert.equal(b.headers.get('idempotent-replayed'), null);
    assert.notEqual(a.body.id, b.body.id);
  });

  it('missing, empty or oversized key → 400 and nothing written', async () => {
    const before = await countRows(platform, 'payments');
    const missing = await platform.request('POST', '/v1/payments', { token: tenant.token, body: cardBody(CARDS.visa) });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'idempotency_key_missing');
    const long = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), 'k'.repeat(256));
    assert.equal(long.status, 400);
    assert.equal(long.body.error.code, 'idempotency_key_invalid');
    const cap = await platform.request('POST', '/v1/payments/pay_00000000000000000000000000/capture', { token: tenant.token, body: {} });
    assert.equal(cap.status, 400);
    assert.equal(cap.body.error.code, 'idempotency_key_missing');
    assert.equal(await countRows(platform, 'payments'), before);
    assert.equal(await countRows(platform, 'idempotency_keys WHERE key = \'' + 'k'.repeat(256) + '\''), 0);
  });

  it('a request refused by validation stores no key: the same key then works with a valid body', async () => {
    const key = randomUUID();
    const bad = await post(platform, tenant.token, '/v1/payments', { ...cardBody(CARDS.visa), amount: -1 }, key);
    assert.equal(bad.status, 400);
    const good = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    assert.equal(good.status, 201);
    assert.equal(good.headers.get('idempotent-replayed'), null);
  });

  it('20 parallel requests with one key → exactly one payment and one processor authorization; others 409 or replay', async () => {
    await sandboxControl(platform, { latency_ms: 300 });
    try {
      const key = randomUUID();
      const results = await Promise.all(Array.from({ length: 20 }, () => post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), key)));
      const statuses = results.map((r) => r.status);
      const created = results.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
      assert.equal(created.length, 1, `statuses: ${statuses.join(',')}`);
      for (const r of results) {
        if (r.status === 409) assert.equal(r.body.error.code, 'idempotency_key_in_use');
        else assert.equal(r.body.id, created[0]!.body.id);
      }
      const payments = await ownerQuery<{ id: string }>(platform, 'SELECT id FROM payments WHERE idempotency_key = $1', [key]);
      assert.equal(payments.length, 1);
      const attempts = await ownerQuery<{ id: string }>(platform, 'SELECT id FROM payment_attempts WHERE payment_id = $1', [payments[0]!.id]);
      assert.equal(attempts.length, 1);
      const op = await fetch(`${platform.sandboxUrl}/v1/operations/${attempts[0]!.id}`);
      assert.equal(op.status, 200, 'the processor recorded the one authorization');
    } finally {
      await sandboxControl(platform, { latency_ms: 0 });
    }
  });

  it('50 parallel captures of one authorization → exactly one succeeds', async () => {
    const auth = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual', amount: 10_000 }));
    assert.equal(auth.body.status, 'requires_capture');
    const results = await Promise.all(Array.from({ length: 50 }, () => post(platform, tenant.token, `/v1/payments/${auth.body.id}/capture`, { amount: 1000 })));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
    for (const r of results) if (r.status !== 200) assert.equal(r.body.error.code, 'invalid_state');
    const captures = await ownerQuery<{ n: number }>(platform, "SELECT count(*)::int AS n FROM payment_attempts WHERE payment_id = $1 AND operation = 'capture'", [auth.body.id]);
    assert.equal(captures[0]!.n, 1);
    const payment = await platform.request('GET', `/v1/payments/${auth.body.id}`, { token: tenant.token });
    assert.equal(payment.body.amount_captured, 1000);
  });

  it('parallel refunds never exceed the captured amount', async () => {
    const pay = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { amount: 1000 }));
    const results = await Promise.all(Array.from({ length: 30 }, () => post(platform, tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 70 })));
    const ok = results.filter((r) => r.status === 201 && r.body.status === 'succeeded');
    assert.equal(ok.length, 14, results.map((r) => r.status).join(','));
    for (const r of results) if (r.status !== 201) assert.ok([400, 409].includes(r.status), r.text);
    const rows = await ownerQuery<{ refunded: string; captured: string; sum: string }>(platform,
      "SELECT p.amount_refunded::text AS refunded, p.amount_captured::text AS captured, (SELECT coalesce(sum(amount),0)::text FROM refunds r WHERE r.payment_id = p.id AND r.status <> 'failed') AS sum FROM payments p WHERE p.id = $1", [pay.body.id]);
    assert.equal(rows[0]!.refunded, '980');
    assert.equal(rows[0]!.sum, '980');
    assert.ok(BigInt(rows[0]!.refunded) <= BigInt(rows[0]!.captured));
  });

  it('capture and cancel racing on one authorization: exactly one wins', async () => {
    const auth = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const [cap, cancel] = await Promise.all([
      post(platform, tenant.token, `/v1/payments/${auth.body.id}/capture`, {}),
      post(platform, tenant.token, `/v1/payments/${auth.body.id}/cancel`, {}),
    ]);
    assert.equal([cap.status, cancel.status].filter((s) => s === 200).length, 1, `${cap.status} ${cancel.status}`);
    const final = await platform.request('GET', `/v1/payments/${auth.body.id}`, { token: tenant.token });
    assert.ok(['succeeded', 'canceled'].includes(final.body.status));
  });
});
