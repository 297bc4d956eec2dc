/**
 * The support API's read routes, through the real app with a platform API client holding support scopes:
 * per route the happy path, the documented errors and the security rules (no token 401, tenant token 403),
 * masking identical to the tenant API, and cross-tenant reads leaving a `support.search` audit entry.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery, post } from '../payments/helpers.js';
import { ACCOUNTS, bankBody } from '../bank/helpers.js';
import { assertError, get, ok, supportClient, type SupportClient } from './helpers.js';
import { eventually } from '../helpers/eventually.js';

let platform: TestPlatform;
let a: TestTenant;
let b: TestTenant;
let agent: SupportClient;
let card: any;
let bank: any;
let refund: any;
let other: any;
const requestId = 'support-test-request-0001';

before(async () => {
  platform = await startTestPlatform();
  a = await createTenant(platform, { name: 'Tenant A' });
  b = await createTenant(platform, { name: 'Tenant B' });
  agent = await supportClient(platform, ['support:read']);
  const c = await platform.request('POST', '/v1/payments', {
    token: a.token, body: cardBody(CARDS.visa, { customer_reference: 'cust-support-42' }), headers: { 'idempotency-key': 'k-support-1', 'x-request-id': requestId },
  });
  assert.equal(c.status, 201, c.text);
  card = c.body;
  const r = await post(platform, a.token, `/v1/payments/${card.id}/refunds`, { amount: 500 });
  assert.equal(r.status, 201, r.text);
  refund = r.body;
  const t = await post(platform, a.token, '/v1/payments', bankBody(ACCOUNTS.settles));
  assert.equal(t.status, 201, t.text);
  bank = t.body;
  const o = await post(platform, b.token, '/v1/payments', cardBody(CARDS.mastercard));
  other = o.body;
});
after(async () => {
  await platform.close();
});

async function auditCount(action: string): Promise<number> {
  return (await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM audit_log WHERE action = $1', [action]))[0]!.n;
}

const READ_ROUTES = () => [
  '/v1/support/search?q=pay',
  '/v1/support/payments',
  `/v1/support/payments/${card.id}`,
  `/v1/support/payments/${card.id}/timeline`,
  '/v1/support/refunds',
  '/v1/support/requests',
  '/v1/support/tenants',
  `/v1/support/tenants/${a.tenantId}`,
  '/v1/support/webhook_deliveries',
  '/v1/support/webhook_deliveries/whd_00000000000000000000000000',
  '/v1/support/health',
  '/v1/support/audit_log',
];

describe('support reads: security', () => {
  it('answers 401 without a token and 403 to a tenant token on every read route', async () => {
    for (const path of READ_ROUTES()) {
      assertError(await get(platform, undefined, path), 401, 'authentication_required');
      assertError(await get(platform, a.token, path), 403, 'insufficient_scope');
    }
  });

  it('answers 403 to a platform admin token without support:read', async () => {
    const admin = await supportClient(platform, ['platform:admin']);
    assertError(await get(platform, admin.token, '/v1/support/payments'), 403, 'insufficient_scope');
  });
});

describe('support payments', () => {
  it('a payment is the tenant API resource, field for field, plus tenant_id and tenant_name', async () => {
    for (const p of [card, bank]) {
      const tenantView = await ok(platform, a.token, `/v1/payments/${p.id}`);
      const supportView = await ok(platform, agent.token, `/v1/support/payments/${p.id}`);
      assert.deepEqual(supportView, { ...tenantView, tenant_id: a.tenantId, tenant_name: 'Tenant A' });
    }
  });

  it('never shows a card or bank account number anywhere', async () => {
    const bodies = [
      await get(platform, agent.token, '/v1/support/payments?limit=100'),
      await get(platform, agent.token, `/v1/support/payments/${bank.id}/timeline`),
      await get(platform, agent.token, `/v1/support/payments/${card.id}/timeline`),
      await get(platform, agent.token, `/v1/support/tenants/${a.tenantId}`),
      await get(platform, agent.token, `/v1/support/search?q=${card.id}`),
    ];
    for (const res of bodies) {
      assert.equal(res.status, 200, res.text);
      assert.ok(!res.text.includes(CARDS.visa) && !res.text.includes(ACCOUNTS.settles), 'no full card or account number');
      assert.ok(!/account_number|secret|cvc/i.test(res.text), res.text.slice(0, 200));
    }
  });

  it('lists across tenants newest first, filters, and pages with cursors', async () => {
    const all = await ok(platform, agent.token, '/v1/support/payments?limit=100');
    assert.deepEqual(all.data.map((p: any) => p.id), [other.id, bank.id, card.id]);
    const onlyA = await ok(platform, agent.token, `/v1/support/payments?tenant=${a.tenantId}`);
    assert.deepEqual(onlyA.data.map((p: any) => p.id), [bank.id, card.id]);
    const filters: Array<[string, string[]]> = [
      ['method=bank_transfer', [bank.id]],
      ['status=succeeded&method=card', [other.id, card.id]],
      ['amount[gte]=5000', [bank.id]],
      ['amount[lte]=2000&currency=USD', [other.id, card.id]],
      ['customer_reference=cust-support-42', [card.id]],
      ['card_last4=4444', [other.id]],
      [`request_id=${requestId}`, [card.id]],
      [`created[gte]=${encodeURIComponent(card.created_at)}&created[lte]=${encodeURIComponent(bank.created_at)}`, [bank.id, card.id]],
    ];
    for (const [q, want] of filters) {
      assert.deepEqual((await ok(platform, agent.token, `/v1/support/payments?${q}`)).data.map((p: any) => p.id), want, q);
    }
    const attempt = (await ok(platform, a.token, `/v1/payments/${card.id}?expand=attempts`)).attempts[0];
    const byRef = await ok(platform, agent.token, `/v1/support/payments?processor_reference=${attempt.processor_reference}`);
    assert.deepEqual(byRef.data.map((p: any) => p.id), [card.id]);
    const first = await ok(platform, agent.token, '/v1/support/payments?limit=1');
    assert.equal(first.has_more, true);
    const second = await ok(platform, agent.token, `/v1/support/payments?limit=1&starting_after=${first.data[0].id}`);
    assert.deepEqual(second.data.map((p: any) => p.id), [bank.id]);
    const back = await ok(platform, agent.token, `/v1/support/payments?limit=5&ending_before=${card.id}`);
    assert.deepEqual(back.data.map((p: any) => p.id), [other.id, bank.id]);
  });

  it('validates every filter and refuses unknown ones', async () => {
    assertError(await get(platform, agent.token, '/v1/support/payments?limit=101'), 400, 'parameter_out_of_range', 'limit');
    assertError(await get(platform, agent.token, '/v1/support/payments?tenant=acme'), 400, 'parameter_invalid_format', 'tenant');
    assertError(await get(platform, agent.token, '/v1/support/payments?status=lost'), 400, 'parameter_invalid_enum', 'status');
    assertError(await get(platform, agent.token, '/v1/support/payments?amount[gte]=-1'), 400, 'parameter_out_of_range', 'amount[gte]');
    assertError(await get(platform, agent.token, '/v1/support/payments?created[gte]=yesterday'), 400, 'parameter_invalid_format', 'created[gte]');
    assertError(await get(platform, agent.token, '/v1/support/payments?card_last4=42'), 400, 'parameter_invalid_format', 'card_last4');
    assertError(await get(platform, agent.token, '/v1/support/payments?colour=red'), 400, 'parameter_unknown', 'colour');
  });

  it('answers 404 for unknown ids and ids of the wrong shape', async () => {
    for (const id of ['pay_00000000000000000000000000', 'nope', refund.id]) {
      assertError(await get(platform, agent.token, `/v1/support/payments/${id}`), 404, 'resource_not_found');
      assertError(await get(platform, agent.token, `/v1/support/payments/${id}/timeline`), 404, 'resource_not_found');
    }
  });

  it('a cross-tenant list writes a support.search audit entry naming the filters; a tenant-scoped one does not', async () => {
    const before = await auditCount('support.search');
    const res = await get(platform, agent.token, '/v1/support/payments?status=failed');
    assert.equal(res.status, 200);
    assert.equal(await auditCount('support.search'), before + 1);
    const [entry] = await ownerQuery<any>(platform, "SELECT * FROM audit_log WHERE action = 'support.search' ORDER BY id DESC LIMIT 1");
    assert.equal(entry.actor_type, 'client');
    assert.equal(entry.actor_id, agent.clientId);
    assert.equal(entry.request_id, res.headers.get('x-request-id'));
    assert.equal(entry.details.scope, 'payments');
    assert.equal(entry.details.status, 'failed');
    await ok(platform, agent.token, `/v1/support/payments?tenant=${a.tenantId}`);
    assert.equal(await auditCount('support.search'), before + 1);
  });
});

describe('support search', () => {
  it('finds an object by an id of every prefix', async () => {
    const timeline = await ok(platform, agent.token, `/v1/support/payments/${card.id}/timeline`);
    const attemptId = timeline.entries.find((e: any) => e.kind === 'processor_attempt').id;
    const eventId = timeline.entries.find((e: any) => e.kind === 'event').id;
    const cases: Array<[string, string, string | undefined]> = [
      [card.id, 'payment', card.id],
      [refund.id, 'refund', card.id],
      [a.tenantId, 'tenant', undefined],
      [eventId, 'event', card.id],
      [attemptId, 'payment', card.id],
      [a.clientId, 'client', undefined],
      [agent.clientId, 'client', undefined],
    ];
    for (const [q, type, paymentId] of cases) {
      const hits = (await ok(platform, agent.token, `/v1/support/search?q=${q}`)).data;
      const hit = hits.find((h: any) => h.type === type);
      assert.ok(hit, `${q} → ${JSON.stringify(hits)}`);
      assert.equal(hit.payment_id, paymentId, q);
      assert.equal(typeof hit.summary, 'string');
    }
    assert.deepEqual((await ok(platform, agent.token, '/v1/support/search?q=pay_00000000000000000000000000')).data, []);
  });

  it('finds the request a client sent (its own X-Request-Id) and the payment it created', async () => {
    await eventually(async () => (await ok(platform, agent.token, `/v1/support/search?q=${requestId}`)).data.length > 0, { timeoutMs: 30_000, what: 'request logged' });
    const hits = (await ok(platform, agent.token, `/v1/support/search?q=${requestId}`)).data;
    assert.equal(hits[0].type, 'request');
    assert.equal(hits[0].id, requestId);
    assert.equal(hits[0].tenant_id, a.tenantId);
    assert.equal(hits[0].payment_id, card.id);
    assert.match(hits[0].summary, /POST \/v1\/payments → 201/);
  });

  it('finds payments by processor reference, customer reference and card last4', async () => {
    const attempt = (await ok(platform, a.token, `/v1/payments/${card.id}?expand=attempts`)).attempts[0];
    for (const q of [attempt.processor_reference, 'cust-support-42', '4242']) {
      const hits = (await ok(platform, agent.token, `/v1/support/search?q=${encodeURIComponent(q)}`)).data;
      assert.ok(hits.some((h: any) => h.type === 'payment' && h.id === card.id), `${q}: ${JSON.stringify(hits)}`);
    }
  });

  it('is always audited, and validates q', async () => {
    const before = await auditCount('support.search');
    await ok(platform, agent.token, '/v1/support/search?q=anything');
    assert.equal(await auditCount('support.search'), before + 1);
    assertError(await get(platform, agent.token, '/v1/support/search'), 400, 'parameter_missing', 'q');
    assertError(await get(platform, agent.token, `/v1/support/search?q=${'x'.repeat(129)}`), 400, 'parameter_too_long', 'q');
  });
});

describe('support refunds, tenants, deliveries, audit log', () => {
  it('lists refunds with their tenant, filtered by payment and tenant', async () => {
    const tenantView = await ok(platform, a.token, `/v1/refunds/${refund.id}`);
    const list = await ok(platform, agent.token, `/v1/support/refunds?payment=${card.id}`);
    assert.deepEqual(list.data, [{ ...tenantView, tenant_id: a.tenantId, tenant_name: 'Tenant A' }]);
    assert.deepEqual((await ok(platform, agent.token, `/v1/support/refunds?tenant=${b.tenantId}`)).data, []);
    assertError(await get(platform, agent.token, '/v1/support/refunds?payment=re_1'), 400, 'parameter_invalid_format', 'payment');
  });

  it('lists tenants and shows one tenant\'s overview without any secret', async () => {
    const tenants = await ok(platform, agent.token, '/v1/support/tenants');
    assert.deepEqual(tenants.data.map((t: any) => t.id), [b.tenantId, a.tenantId]);
    const overview = await ok(platform, agent.token, `/v1/support/tenants/${a.tenantId}`);
    assert.equal(overview.object, 'tenant_overview');
    assert.equal(overview.tenant.name, 'Tenant A');
    assert.deepEqual(overview.clients.map((c: any) => c.client_id), [a.clientId]);
    assert.ok(!JSON.stringify(overview).includes(a.clientSecret));
    assert.equal(overview.volume.last_24h.count, 2);
    assert.equal(overview.volume.last_24h.succeeded, 1);
    assert.equal(overview.volume.last_7d.amount_by_currency.usd, 2000);
    assertError(await get(platform, agent.token, '/v1/support/tenants/ten_00000000000000000000000000'), 404, 'resource_not_found');
    assertError(await get(platform, agent.token, '/v1/support/tenants/acme'), 404, 'resource_not_found');
  });

  it('lists deliveries (empty without endpoints) and answers 404 for an unknown one', async () => {
    assert.deepEqual((await ok(platform, agent.token, `/v1/support/webhook_deliveries?tenant=${a.tenantId}&status=failed`)).data, []);
    assertError(await get(platform, agent.token, '/v1/support/webhook_deliveries?status=lost'), 400, 'parameter_invalid_enum', 'status');
    assertError(await get(platform, agent.token, '/v1/support/webhook_deliveries/whd_00000000000000000000000000'), 404, 'resource_not_found');
    assertError(await get(platform, agent.token, '/v1/support/webhook_deliveries/x'), 404, 'resource_not_found');
  });

  it('searches the audit log by actor and action', async () => {
    await ok(platform, agent.token, '/v1/support/search?q=audit-me');
    const mine = await ok(platform, agent.token, `/v1/support/audit_log?actor=${agent.clientId}&action=support.search&limit=1`);
    assert.equal(mine.data.length, 1);
    assert.equal(mine.data[0].details.q, 'audit-me');
    assert.equal(mine.data[0].object, 'audit_entry');
    const creates = await ok(platform, agent.token, '/v1/support/audit_log?action=tenant.create');
    assert.deepEqual(creates.data.map((e: any) => e.tenant_id), [b.tenantId, a.tenantId]);
    assertError(await get(platform, agent.token, '/v1/support/audit_log?action=DROP%20TABLE'), 400, 'parameter_invalid_format', 'action');
  });
});
