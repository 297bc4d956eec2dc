/**
 * Support actions without a worker running (nothing resolves behind the test's back): security per action,
 * the written reason, the audit entry committed with the effect (and absent when the action fails), reconcile,
 * notes, enable and replay.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery, post } from '../payments/helpers.js';
import { createEndpoint } from '../webhooks/helpers.js';
import { newId } from '../../src/platform/ids.js';
import { assertError, ok, supportClient, type SupportClient } from './helpers.js';

let platform: TestPlatform;
let tenant: TestTenant;
let agent: SupportClient;
let operator: SupportClient;
let lost: any;
let paid: any;
let endpointId: string;
let deliveryId: string;

before(async () => {
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  agent = await supportClient(platform, ['support:read'], 'agent tool');
  operator = await supportClient(platform, ['support:read', 'support:write'], 'operator tool');
  // no worker runs in this file: the endpoint's deliveries stay pending and the lost authorization stays open
  endpointId = (await createEndpoint(platform, tenant.token, { url: 'http://127.0.0.1:9/hooks' })).id;
  const p = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
  assert.equal(p.status, 201, p.text);
  paid = p.body;
  const l = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.lostResponse));
  assert.equal(l.status, 201, l.text);
  assert.equal(l.body.status, 'processing');
  lost = l.body;
  deliveryId = (await ownerQuery<{ id: string }>(platform, 'SELECT id FROM webhook_deliveries ORDER BY id LIMIT 1'))[0]!.id;
});
after(async () => {
  await platform.close();
});

function action(token: string | undefined, path: string, body?: unknown) {
  return platform.request('POST', path, { ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}) });
}

async function auditOf(action: string, target: string): Promise<any[]> {
  return ownerQuery(platform, 'SELECT * FROM audit_log WHERE action = $1 AND target_id = $2 ORDER BY id', [action, target]);
}

const REASON = 'customer called: ticket 4711';
const ACTIONS = () => [
  `/v1/support/webhook_deliveries/${deliveryId}/retry`,
  `/v1/support/webhook_endpoints/${endpointId}/replay`,
  `/v1/support/webhook_endpoints/${endpointId}/enable`,
  `/v1/support/payments/${lost.id}/reconcile`,
  `/v1/support/payments/${lost.id}/notes`,
];

describe('support actions: security and the written reason', () => {
  it('401 without a token, 403 for a tenant token and for a support:read-only client', async () => {
    for (const path of ACTIONS()) {
      const body = path.endsWith('/notes') ? { body: 'x' } : path.endsWith('/replay') ? { reason: REASON, created: { gte: '0', lte: '1' } } : { reason: REASON };
      assertError(await action(undefined, path, body), 401, 'authentication_required');
      assertError(await action(tenant.token, path, body), 403, 'insufficient_scope');
      assertError(await action(agent.token, path, body), 403, 'insufficient_scope');
    }
    assert.equal((await ownerQuery(platform, "SELECT 1 FROM audit_log WHERE action LIKE 'support.%' AND action <> 'support.search'")).length, 0);
  });

  it('a missing or too short reason is a 400 on param reason, and nothing changes', async () => {
    const attemptsBefore = await ownerQuery(platform, 'SELECT id, next_reconcile_at FROM payment_attempts WHERE payment_id = $1 ORDER BY id', [lost.id]);
    for (const path of ACTIONS().filter((p) => !p.endsWith('/notes'))) {
      const extra = path.endsWith('/replay') ? { created: { gte: '0', lte: '1' } } : {};
      // no body at all is read as {}: the first missing field is named
      assertError(await action(operator.token, path), 400, 'parameter_missing', 'reason');
      assertError(await action(operator.token, path, extra), 400, 'parameter_missing', 'reason');
      assertError(await action(operator.token, path, { reason: 'why', ...extra }), 400, 'parameter_too_short', 'reason');
    }
    assertError(await action(operator.token, `/v1/support/payments/${lost.id}/notes`, { body: 'hello', reason: 'no' }), 400, 'parameter_too_short', 'reason');
    assertError(await action(operator.token, `/v1/support/payments/${lost.id}/notes`, { reason: REASON }), 400, 'parameter_missing', 'body');
    assertError(await action(operator.token, `/v1/support/payments/${lost.id}/reconcile`, { reason: REASON, force: true }), 400, 'parameter_unknown', 'force');
    assert.deepEqual(await ownerQuery(platform, 'SELECT id, next_reconcile_at FROM payment_attempts WHERE payment_id = $1 ORDER BY id', [lost.id]), attemptsBefore);
    assert.equal((await ownerQuery(platform, 'SELECT 1 FROM support_notes')).length, 0);
    assert.equal((await ownerQuery(platform, "SELECT 1 FROM audit_log WHERE action LIKE 'support.%' AND action <> 'support.search'")).length, 0);
  });

  it('unknown ids and ids of the wrong shape are 404 and leave no audit entry', async () => {
    for (const path of [
      '/v1/support/webhook_deliveries/whd_00000000000000000000000000/retry', '/v1/support/webhook_deliveries/nope/retry',
      '/v1/support/webhook_endpoints/we_00000000000000000000000000/enable', `/v1/support/webhook_endpoints/${deliveryId}/enable`,
      '/v1/support/payments/pay_00000000000000000000000000/reconcile', `/v1/support/payments/${tenant.tenantId}/notes`,
    ]) {
      assertError(await action(operator.token, path, path.endsWith('/notes') ? { body: 'note' } : { reason: REASON }), 404, 'resource_not_found');
    }
    assertError(await action(operator.token, '/v1/support/webhook_endpoints/we_00000000000000000000000000/replay', { reason: REASON, created: { gte: '0', lte: '1' } }), 404, 'resource_not_found');
    assert.equal((await ownerQuery(platform, "SELECT 1 FROM audit_log WHERE action LIKE 'support.%' AND action <> 'support.search'")).length, 0);
  });
});

describe('support actions: effects and their audit entries', () => {
  it('reconcile makes the open attempts due now and audits before/after with the actor', async () => {
    await ownerQuery(platform, "UPDATE payment_attempts SET next_reconcile_at = now() + interval '1 hour' WHERE payment_id = $1", [lost.id]);
    const res = await action(operator.token, `/v1/support/payments/${lost.id}/reconcile`, { reason: REASON });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.attempts_scheduled, 1);
    assert.deepEqual(res.body.payment, { ...(await ok(platform, tenant.token, `/v1/payments/${lost.id}`)), tenant_id: tenant.tenantId, tenant_name: 'Acme Corp' });
    const [attempt] = await ownerQuery<any>(platform, 'SELECT id, next_reconcile_at, now() AS now FROM payment_attempts WHERE payment_id = $1', [lost.id]);
    assert.ok(attempt.next_reconcile_at <= attempt.now, 'due now');
    const [entry] = await auditOf('support.payment.reconcile', lost.id);
    assert.equal(entry.actor_type, 'client');
    assert.equal(entry.actor_id, operator.clientId);
    assert.equal(entry.tenant_id, tenant.tenantId);
    assert.equal(entry.reason, REASON);
    assert.equal(entry.request_id, res.headers.get('x-request-id'));
    assert.equal(entry.before.attempts[0].id, attempt.id);
    assert.ok(new Date(entry.before.attempts[0].next_reconcile_at) > new Date(entry.after.attempts[0].next_reconcile_at));
    // a settled payment has nothing open: scheduled 0, still answered and audited
    const none = await action(operator.token, `/v1/support/payments/${paid.id}/reconcile`, { reason: REASON });
    assert.equal(none.status, 200, none.text);
    assert.equal(none.body.attempts_scheduled, 0);
  });

  it('a note is stored, audited, and shows on the timeline; the tenant never sees it', async () => {
    const res = await action(operator.token, `/v1/support/payments/${lost.id}/notes`, { body: 'Customer says the card was charged twice.' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.object, 'support_note');
    assert.equal(res.body.author_type, 'client');
    assert.equal(res.body.author_id, operator.clientId);
    assert.equal(res.body.tenant_id, tenant.tenantId);
    const [entry] = await auditOf('support.payment.note', lost.id);
    assert.equal(entry.after.note_id, res.body.id);
    assert.equal(entry.reason, null);
    const timeline = await ok(platform, agent.token, `/v1/support/payments/${lost.id}/timeline`);
    const note = timeline.entries.find((e: any) => e.kind === 'note');
    assert.equal(note.id, res.body.id);
    assert.equal(note.data.body, 'Customer says the card was charged twice.');
    assert.ok(timeline.entries.some((e: any) => e.kind === 'audit' && e.data.action === 'support.payment.reconcile' && e.data.reason === REASON));
    const tenantView = await platform.request('GET', `/v1/payments/${lost.id}?expand=attempts`, { token: tenant.token });
    assert.ok(!tenantView.text.includes('charged twice'));
  });

  it('enable: a disabled endpoint is re-enabled with before/after; enabling an enabled one is a 409 with no audit entry', async () => {
    const disabled = await platform.request('POST', `/v1/webhook_endpoints/${endpointId}`, { token: tenant.token, body: { disabled: true } });
    assert.equal(disabled.status, 200, disabled.text);
    const res = await action(operator.token, `/v1/support/webhook_endpoints/${endpointId}/enable`, { reason: REASON });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'enabled');
    assert.equal(res.body.tenant_id, tenant.tenantId);
    const [entry] = await auditOf('support.webhook_endpoint.enable', endpointId);
    assert.deepEqual(entry.before, { status: 'disabled', disabled_reason: 'disabled_by_user', failing_since: null });
    assert.deepEqual(entry.after, { status: 'enabled', disabled_reason: null, failing_since: null });
    assertError(await action(operator.token, `/v1/support/webhook_endpoints/${endpointId}/enable`, { reason: REASON }), 409, 'invalid_state');
    assert.equal((await auditOf('support.webhook_endpoint.enable', endpointId)).length, 1, 'the failed action wrote no entry');
  });

  it('retry of a delivery whose endpoint is disabled fails with 409 and writes no audit entry; once enabled it is requeued and audited', async () => {
    await platform.request('POST', `/v1/webhook_endpoints/${endpointId}`, { token: tenant.token, body: { disabled: true } });
    assertError(await action(operator.token, `/v1/support/webhook_deliveries/${deliveryId}/retry`, { reason: REASON }), 409, 'invalid_state');
    assert.equal((await auditOf('support.webhook_delivery.retry', deliveryId)).length, 0);
    await platform.request('POST', `/v1/webhook_endpoints/${endpointId}`, { token: tenant.token, body: { disabled: false } });
    const res = await action(operator.token, `/v1/support/webhook_deliveries/${deliveryId}/retry`, { reason: REASON });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, deliveryId);
    assert.equal(res.body.status, 'pending');
    assert.ok(Array.isArray(res.body.attempts));
    const [entry] = await auditOf('support.webhook_delivery.retry', deliveryId);
    assert.equal(entry.actor_id, operator.clientId);
    assert.equal(entry.before.status, 'pending');
    assert.equal(entry.details.endpoint_id, endpointId);
  });

  it('replay queues the window\'s events again and audits the window', async () => {
    const before = (await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1', [endpointId]))[0]!.n;
    const res = await action(operator.token, `/v1/support/webhook_endpoints/${endpointId}/replay`, {
      reason: REASON, created: { gte: String(Math.floor(Date.parse(paid.created_at) / 1000) - 60), lte: new Date(Date.now() + 60_000).toISOString() },
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.replayed > 0);
    const after = (await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1', [endpointId]))[0]!.n;
    assert.equal(after, before + res.body.replayed);
    const [entry] = await auditOf('support.webhook_endpoint.replay', endpointId);
    assert.equal(entry.after.deliveries_created, res.body.replayed);
    assert.ok(entry.details.created_gte);
    assertError(await action(operator.token, `/v1/support/webhook_endpoints/${endpointId}/replay`, { reason: REASON, created: { gte: '2000', lte: '1000' } }), 400, 'parameter_out_of_range', 'created[gte]');
    assertError(await action(operator.token, `/v1/support/webhook_endpoints/${endpointId}/replay`, { reason: REASON }), 400, 'parameter_missing', 'created');
    const numeric = await action(operator.token, `/v1/support/webhook_endpoints/${endpointId}/replay`, { reason: REASON, created: { gte: 0, lte: 1 } });
    assert.equal(numeric.status, 200, numeric.text);
    assert.equal(numeric.body.replayed, 0);
  });

  it('search finds endpoints, deliveries and staff users by id', async () => {
    const staffId = newId('staffUser');
    await ownerQuery(platform, "INSERT INTO staff_users (id, email, display_name, role, password_hash) VALUES ($1, 'ada@nimbuspay.test', 'Ada', 'support_agent', 'x')", [staffId]);
    const cases: Array<[string, string, string | undefined]> = [[endpointId, 'webhook_endpoint', undefined], [deliveryId, 'webhook_delivery', paid.id], [staffId, 'staff_user', undefined]];
    for (const [q, type, paymentId] of cases) {
      const [hit] = (await ok(platform, agent.token, `/v1/support/search?q=${q}`)).data;
      assert.equal(hit?.type, type, q);
      assert.equal(hit.id, q);
      assert.equal(hit.payment_id, paymentId);
    }
    const staffHit = (await ok(platform, agent.token, `/v1/support/search?q=${staffId}`)).data[0];
    assert.ok(!JSON.stringify(staffHit).includes('password'));
  });

  it('the audit log API shows the actions with before/after and actor', async () => {
    const list = await ok(platform, agent.token, `/v1/support/audit_log?tenant=${tenant.tenantId}&action=support.webhook_endpoint.enable`);
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0].actor_id, operator.clientId);
    assert.equal(list.data[0].before.status, 'disabled');
    assert.equal(list.data[0].after.status, 'enabled');
    const byTarget = await ok(platform, agent.token, `/v1/support/audit_log?target=${lost.id}`);
    assert.deepEqual(byTarget.data.map((e: any) => e.action).sort(), ['support.payment.note', 'support.payment.reconcile']);
  });
});
