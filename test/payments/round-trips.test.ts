import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery, post } from './helpers.js';

/**
 * Records every statement the API's pool sends to PostgreSQL while recording, grouped by checkout of a connection.
 * Each `query` call of a pg client is one round trip (node-postgres does not pipeline). Checkouts that write the
 * request log are left out: that log is buffered in memory and written in batches by a timer, off every request's
 * path (see src/modules/support/request-log.ts), so a batch may land in any request's window.
 */
function recordStatements(pool: pg.Pool): { start(): void; stop(): string[] } {
  let checkouts: string[][] | undefined;
  const patched = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => {
    const checkout: string[] = [];
    checkouts?.push(checkout);
    if (patched.has(client)) {
      (client as unknown as { checkout: string[] }).checkout = checkout;
      return;
    }
    patched.add(client);
    const tagged = client as unknown as { checkout: string[]; query: (...args: unknown[]) => unknown };
    tagged.checkout = checkout;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    tagged.query = (...args: unknown[]) => {
      const first = args[0] as string | { text: string };
      if (checkouts) tagged.checkout.push(typeof first === 'string' ? first : first.text);
      return query(...args);
    };
  });
  return {
    start() {
      checkouts = [];
    },
    stop() {
      const out = (checkouts ?? []).filter((c) => !c.some((text) => text.includes('"api_requests"'))).flat();
      checkouts = undefined;
      return out;
    },
  };
}

describe('a card payment costs two database round trips, and every copy of its answer is the same resource', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let statements: ReturnType<typeof recordStatements>;
  before(async () => {
    // no worker: the reconciler must not resolve the unknown outcome under the test, nor share the pool's counter
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
    statements = recordStatements(platform.database.pool);
  });
  after(async () => platform.close());

  it('an approved card payment with automatic capture: one statement per transaction, nothing else', async () => {
    // warm up: the first request of a token may cache what auth reads
    assert.equal((await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa))).status, 201);
    statements.start();
    const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
    const sent = statements.stop();
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.status, 'succeeded');
    assert.deepEqual(sent.map((text) => /\b(create_card_payment|settle_card_attempt)\b/.exec(text)?.[1] ?? text), ['create_card_payment', 'settle_card_attempt']);
    // and the two statements wrote everything the two transactions used to
    const [rows] = await ownerQuery<{ attempts: number; transitions: number; events: number; state: string }>(platform, `
      SELECT (SELECT count(*)::int FROM payment_attempts WHERE payment_id = $1 AND status = 'succeeded') AS attempts,
             (SELECT count(*)::int FROM payment_transitions WHERE payment_id = $1) AS transitions,
             (SELECT count(*)::int FROM events WHERE object_id = $1) AS events,
             (SELECT state FROM idempotency_keys k JOIN payments p ON p.tenant_id = k.tenant_id AND p.idempotency_key = k.key WHERE p.id = $1) AS state`,
    [res.body.id]);
    assert.deepEqual(rows, { attempts: 1, transitions: 2, events: 2, state: 'completed' });
  });

  /** The payment's latest event of `type`: its `data.object`. */
  async function eventObject(paymentId: string, type: string): Promise<unknown> {
    const res = await platform.request('GET', `/v1/events?object_id=${paymentId}&type=${type}`, { token: tenant.token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.length, 1, `one ${type} event`);
    return res.body.data[0].data.object;
  }

  /** The answer, its replay under the same key, the event and a later GET: one resource. */
  async function assertOneResource(path: string, body: unknown, expectStatus: number, eventType: string | undefined): Promise<any> {
    const key = randomUUID();
    const first = await post(platform, tenant.token, path, body, key);
    assert.equal(first.status, expectStatus, first.text);
    const replay = await post(platform, tenant.token, path, body, key);
    assert.equal(replay.status, expectStatus, replay.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body, first.body, 'the replayed answer');
    const read = await platform.request('GET', `/v1/payments/${first.body.id}`, { token: tenant.token });
    assert.deepEqual(read.body, first.body, 'a later GET');
    if (eventType) assert.deepEqual(await eventObject(first.body.id, eventType), first.body, `the ${eventType} event's data.object`);
    assert.match(first.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    return first.body;
  }

  it('approved: answer, replay, event and GET are deep-equal', async () => {
    const payment = await assertOneResource('/v1/payments', cardBody(CARDS.mastercard, { metadata: { order: '42', b: 'x' }, description: 'd', customer_reference: 'c' }), 201, 'payment.succeeded');
    assert.equal(payment.status, 'succeeded');
  });

  it('declined: the failed payment is the same resource everywhere', async () => {
    const payment = await assertOneResource('/v1/payments', cardBody(CARDS.declined), 201, 'payment.failed');
    assert.equal(payment.failure_code, 'card_declined');
  });

  it('manual capture, then capture: both answers match their events and the reads', async () => {
    const held = await assertOneResource('/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }), 201, 'payment.requires_capture');
    assert.equal(held.status, 'requires_capture');
    const captured = await assertOneResource(`/v1/payments/${held.id}/capture`, { amount: 1500 }, 200, 'payment.succeeded');
    assert.equal(captured.amount_captured, 1500);
    assert.equal(captured.created_at, held.created_at);
  });

  it('void: the canceled payment is the same resource everywhere', async () => {
    const held = await assertOneResource('/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }), 201, 'payment.requires_capture');
    const canceled = await assertOneResource(`/v1/payments/${held.id}/cancel`, {}, 200, 'payment.canceled');
    assert.equal(canceled.status, 'canceled');
  });

  it('unknown outcome: the processing payment answered is the one its event announced', async () => {
    const payment = await assertOneResource('/v1/payments', cardBody(CARDS.lostResponse), 201, 'payment.processing');
    assert.equal(payment.status, 'processing');
    const [attempt] = await ownerQuery<{ status: string }>(platform, 'SELECT status FROM payment_attempts WHERE payment_id = $1', [payment.id]);
    assert.equal(attempt!.status, 'unknown');
  });
});
