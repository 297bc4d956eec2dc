import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { newId } from '../../src/platform/ids.js';
import { CARDS, cardBody, ownerQuery, post } from './helpers.js';

// The guards of settle_card_attempt, called as the application role (row-level security applies) the way the
// request and the reconciler call it: the rare races the API tests cannot stage on demand.

const SETTLE_ARGS = [
  'p_tenant', 'p_payment_id', 'p_attempt_id', 'p_attempt_status', 'p_attempt_processor_reference', 'p_failure_code',
  'p_failure_message', 'p_latency_ms', 'p_reconcile_after_ms', 'p_from_status', 'p_to_status', 'p_processor_reference',
  'p_amount_capturable', 'p_amount_captured', 'p_transition_id', 'p_reason', 'p_event_id', 'p_event_type', 'p_resource',
  'p_idempotency_key', 'p_response_status',
] as const;

describe('settle_card_attempt: one statement, guarded like the transaction it replaces', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let other: TestTenant;
  let app: pg.Client;
  before(async () => {
    // no worker: the attempts left `unknown` below stay open until the test settles them
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
    other = await createTenant(platform);
    app = new pg.Client({ connectionString: platform.db.appUrl });
    await app.connect();
  });
  after(async () => {
    await app.end();
    await platform.close();
  });

  /** A card payment left `processing` with its authorize attempt `unknown` (the sandbox's lost response). */
  async function openPayment(): Promise<{ paymentId: string; attemptId: string; resource: Record<string, unknown> }> {
    const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.lostResponse));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.status, 'processing');
    const [attempt] = await ownerQuery<{ id: string; status: string }>(platform, 'SELECT id, status FROM payment_attempts WHERE payment_id = $1', [res.body.id]);
    assert.equal(attempt!.status, 'unknown');
    return { paymentId: res.body.id, attemptId: attempt!.id, resource: res.body };
  }

  function settle(args: Partial<Record<(typeof SETTLE_ARGS)[number], unknown>>): Promise<pg.QueryResult<{ outcome: string }>> {
    const values = SETTLE_ARGS.map((name) => args[name] ?? null);
    const casts: Record<string, string> = { p_latency_ms: 'int', p_reconcile_after_ms: 'int', p_amount_capturable: 'bigint', p_amount_captured: 'bigint', p_resource: 'jsonb', p_response_status: 'int' };
    const list = SETTLE_ARGS.map((name, i) => `${name} => $${i + 1}${casts[name] ? `::${casts[name]}` : ''}`).join(', ');
    return app.query(`SELECT * FROM settle_card_attempt(${list})`, values);
  }

  function approve(p: { paymentId: string; attemptId: string; resource: Record<string, unknown> }, tenantId: string, from = 'processing', to = 'succeeded', amounts = true) {
    return settle({
      p_tenant: tenantId, p_payment_id: p.paymentId, p_attempt_id: p.attemptId, p_attempt_status: 'succeeded', p_attempt_processor_reference: 'ch_test',
      p_from_status: from, p_to_status: to, p_processor_reference: 'ch_test', ...(amounts ? { p_amount_capturable: 0, p_amount_captured: 2000 } : {}),
      p_transition_id: newId('transition'), p_reason: 'authorized and captured', p_event_id: newId('event'), p_event_type: `payment.${to}`,
      p_resource: JSON.stringify({ ...p.resource, status: to }),
    });
  }

  async function state(paymentId: string) {
    const [row] = await ownerQuery<{ status: string; attempt: string; transitions: number; events: number }>(platform, `
      SELECT p.status, (SELECT string_agg(a.status, ',') FROM payment_attempts a WHERE a.payment_id = p.id) AS attempt,
             (SELECT count(*)::int FROM payment_transitions t WHERE t.payment_id = p.id) AS transitions,
             (SELECT count(*)::int FROM events e WHERE e.object_id = p.id) AS events
      FROM payments p WHERE p.id = $1`, [paymentId]);
    return row!;
  }

  it('applies an outcome once: the second application of the same attempt is `superseded` and changes nothing', async () => {
    const p = await openPayment();
    assert.equal((await approve(p, tenant.tenantId)).rows[0]!.outcome, 'applied');
    const applied = await state(p.paymentId);
    assert.deepEqual(applied, { status: 'succeeded', attempt: 'succeeded', transitions: 2, events: 2 });
    assert.equal((await approve(p, tenant.tenantId)).rows[0]!.outcome, 'superseded');
    assert.deepEqual(await state(p.paymentId), applied);
  });

  it('a payment no longer in the status decided from rolls the whole statement back, the attempt included', async () => {
    const p = await openPayment();
    const before = await state(p.paymentId);
    await assert.rejects(approve(p, tenant.tenantId, 'requires_capture', 'succeeded'), /changed under a held attempt/);
    assert.deepEqual(await state(p.paymentId), before);
  });

  it('the trigger still refuses an edge the state machine does not have (card processing -> canceled)', async () => {
    const p = await openPayment();
    const before = await state(p.paymentId);
    // amounts kept: no CHECK constraint can object, only the transition trigger
    await assert.rejects(approve(p, tenant.tenantId, 'processing', 'canceled', false), (err: unknown) => (err as { code?: string }).code === '23514');
    assert.deepEqual(await state(p.paymentId), before);
  });

  it("row-level security: another tenant's id does not reach the payment", async () => {
    const p = await openPayment();
    const before = await state(p.paymentId);
    await assert.rejects(approve(p, other.tenantId), /has no payment/);
    assert.deepEqual(await state(p.paymentId), before);
  });
});
