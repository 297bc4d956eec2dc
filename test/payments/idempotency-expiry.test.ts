import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { purgeIdempotencyKeys } from '../../src/platform/idempotency.repository.js';

import { bankBody, ACCOUNTS } from '../bank/helpers.js';
import { CARDS, cardBody, ownerQuery, post } from './helpers.js';
import { eventually } from '../helpers/eventually.js';

// Expiry runs on the purge job's injected clock: "25 hours later" is a purge whose `now` is 25 hours ahead, so no
// test waits and no row's created_at is rewritten.

const HOUR_MS = 3_600_000;

interface Counts {
  payments: number;
  refunds: number;
  payment_attempts: number;
  events: number;
  idempotency_keys: number;
}

describe('Idempotency-Key after its stored answer expired', () => {
  let platform: TestPlatform | undefined;
  let tenant: TestTenant;
  after(async () => platform?.close());
  before(async () => {
    platform = await startTestPlatform({ env: { SANDBOX_LATENCY_MS: '0' } });
    tenant = await createTenant(platform);
  });
  const p = (): TestPlatform => platform!;

  /** The worker's purge job, run to completion on a clock `hoursLater` ahead of now. */
  async function purgeAt(hoursLater: number): Promise<number> {
    const now = new Date(Date.now() + hoursLater * HOUR_MS);
    const ttl = p().config.idempotencyKeyTtlHours;
    let purged = 0;
    for (let n = await purgeIdempotencyKeys(p().database.db, ttl, now); n > 0; n = await purgeIdempotencyKeys(p().database.db, ttl, now)) purged += n;
    return purged;
  }
  const afterRetention = (): Promise<number> => purgeAt(p().config.idempotencyKeyTtlHours + 1);

  async function counts(): Promise<Counts> {
    const [row] = await ownerQuery<Counts>(p(), `SELECT
      (SELECT count(*) FROM payments)::int AS payments, (SELECT count(*) FROM refunds)::int AS refunds,
      (SELECT count(*) FROM payment_attempts)::int AS payment_attempts, (SELECT count(*) FROM events)::int AS events,
      (SELECT count(*) FROM idempotency_keys)::int AS idempotency_keys`);
    return row!;
  }

  async function keyRecords(key: string): Promise<Array<{ state: string }>> {
    return ownerQuery<{ state: string }>(p(), 'SELECT state FROM idempotency_keys WHERE tenant_id = $1 AND key = $2', [tenant.tenantId, key]);
  }

  function assertExpired(res: TestResponse, created: { id: string; created_at: string }, retrievePath: string): void {
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.error.code, 'idempotency_key_expired');
    assert.equal(res.body.error.type, 'idempotency_error');
    assert.equal(res.body.error.param, 'Idempotency-Key');
    assert.match(res.body.error.request_id, /^req_/);
    const message: string = res.body.error.message;
    assert.ok(message.includes(created.id), message);
    assert.ok(message.includes(created.created_at), message);
    assert.ok(message.includes(`GET ${retrievePath}`), message);
    assert.equal(res.headers.get('idempotent-replayed'), null, 'an error is never presented as a replay');
  }

  it('within the retention the same request replays; after it, the same request answers 409 idempotency_key_expired naming the payment, and nothing is written', async () => {
    const key = randomUUID();
    const first = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    assert.equal(first.status, 201, first.text);

    assert.equal(await purgeAt(p().config.idempotencyKeyTtlHours - 1), 0, 'nothing is purged within the retention');
    const replay = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body, first.body);

    assert.ok(await afterRetention() >= 1);
    assert.deepEqual(await keyRecords(key), []);
    const before = await counts();
    for (let i = 0; i < 2; i++) {
      const reused = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
      assertExpired(reused, first.body, `/v1/payments/${first.body.id}`);
    }
    assert.deepEqual(await counts(), before, 'no payment, attempt, event or key record written (the 409 is not stored either)');
    const now = await p().request('GET', `/v1/payments/${first.body.id}`, { token: tenant.token });
    assert.deepEqual(now.body, first.body, 'the payment is untouched');
  });

  it('after expiry, another body under the same key answers 409 too (in parallel as well): never the old payment as a new answer, never a second payment', async () => {
    const key = randomUUID();
    const first = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
    assert.equal(first.status, 201, first.text);
    await afterRetention();
    const before = await counts();
    const other = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.mastercard, { amount: 3000 }), key);
    assertExpired(other, first.body, `/v1/payments/${first.body.id}`);
    const parallel = await Promise.all(Array.from({ length: 10 }, (_, i) => post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa, { amount: 100 + i }), key)));
    for (const res of parallel) assertExpired(res, first.body, `/v1/payments/${first.body.id}`);
    assert.deepEqual(await counts(), before);
    const under = await ownerQuery<{ n: number }>(p(), 'SELECT count(*)::int AS n FROM payments WHERE idempotency_key = $1', [key]);
    assert.equal(under[0]!.n, 1);
  });

  it('bank transfers: after expiry the same or another body answers 409 naming the transfer, nothing written', async () => {
    const key = randomUUID();
    const first = await post(p(), tenant.token, '/v1/payments', bankBody(ACCOUNTS.settles), key);
    assert.equal(first.status, 201, first.text);
    await afterRetention();
    const before = await counts();
    assertExpired(await post(p(), tenant.token, '/v1/payments', bankBody(ACCOUNTS.settles), key), first.body, `/v1/payments/${first.body.id}`);
    assertExpired(await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa), key), first.body, `/v1/payments/${first.body.id}`);
    assert.deepEqual(await counts(), before);
  });

  it('a refund key is scoped to its payment: on another payment it is 422 within the retention and 409 after, never a refund of the first', async () => {
    const a = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa));
    const b = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa));
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const key = randomUUID();
    const refund = await post(p(), tenant.token, `/v1/payments/${a.body.id}/refunds`, { amount: 500 }, key);
    assert.equal(refund.status, 201, refund.text);
    assert.equal(refund.body.payment_id, a.body.id);

    let before = await counts();
    const within = await post(p(), tenant.token, `/v1/payments/${b.body.id}/refunds`, { amount: 500 }, key);
    assert.equal(within.status, 422, within.text);
    assert.equal(within.body.error.code, 'idempotency_key_reused');
    assert.equal(within.body.error.param, 'Idempotency-Key');
    assert.equal(within.headers.get('idempotent-replayed'), null);
    assert.deepEqual(await counts(), before);

    await afterRetention();
    before = await counts();
    const onB = await post(p(), tenant.token, `/v1/payments/${b.body.id}/refunds`, { amount: 500 }, key);
    assertExpired(onB, refund.body, `/v1/refunds/${refund.body.id}`);
    assert.ok(onB.body.error.message.includes(a.body.id), 'the message says which payment the refund belongs to');
    assertExpired(await post(p(), tenant.token, `/v1/payments/${a.body.id}/refunds`, { amount: 500 }, key), refund.body, `/v1/refunds/${refund.body.id}`);
    // a key that created a payment can never create a refund either
    const paymentKey = (await ownerQuery<{ key: string }>(p(), 'SELECT idempotency_key AS key FROM payments WHERE id = $1', [a.body.id]))[0]!.key;
    assertExpired(await post(p(), tenant.token, `/v1/payments/${b.body.id}/refunds`, {}, paymentKey), a.body, `/v1/payments/${a.body.id}`);
    assert.deepEqual(await counts(), before);
    const bRefunds = await p().request('GET', `/v1/payments/${b.body.id}/refunds`, { token: tenant.token });
    assert.deepEqual(bRefunds.body.data, []);
    const bNow = await p().request('GET', `/v1/payments/${b.body.id}`, { token: tenant.token });
    assert.equal(bNow.body.amount_refunded, 0);
  });

  it('capture and cancel create no object: after expiry their key is a new request (which the payment state answers), unless it created a payment', async () => {
    const createKey = randomUUID();
    const auth = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }), createKey);
    const toVoid = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const transfer = await post(p(), tenant.token, '/v1/payments', bankBody(ACCOUNTS.settles));
    const later = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    for (const r of [auth, toVoid, later]) assert.equal(r.body.status, 'requires_capture', r.text);
    const [captureKey, voidKey, cancelKey] = [randomUUID(), randomUUID(), randomUUID()];
    const captured = await post(p(), tenant.token, `/v1/payments/${auth.body.id}/capture`, {}, captureKey);
    assert.equal(captured.status, 200, captured.text);
    assert.equal((await post(p(), tenant.token, `/v1/payments/${toVoid.body.id}/cancel`, {}, voidKey)).status, 200);
    assert.equal((await post(p(), tenant.token, `/v1/payments/${transfer.body.id}/cancel`, {}, cancelKey)).status, 200);
    const replay = await post(p(), tenant.token, `/v1/payments/${auth.body.id}/capture`, {}, captureKey);
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');

    await afterRetention();
    const before = await counts();
    for (const [path, key] of [[`${auth.body.id}/capture`, captureKey], [`${toVoid.body.id}/cancel`, voidKey], [`${transfer.body.id}/cancel`, cancelKey]] as const) {
      const again = await post(p(), tenant.token, `/v1/payments/${path}`, {}, key);
      assert.equal(again.status, 409, `${path}: ${again.text}`);
      assert.equal(again.body.error.code, 'invalid_state');
      assert.equal(again.headers.get('idempotent-replayed'), null);
    }
    assertExpired(await post(p(), tenant.token, `/v1/payments/${auth.body.id}/capture`, {}, createKey), auth.body, `/v1/payments/${auth.body.id}`);
    // (the new requests' answers are stored as any answer is: only idempotency_keys grew)
    const money = ({ idempotency_keys: _, ...rest }: Counts): Omit<Counts, 'idempotency_keys'> => rest;
    assert.deepEqual(money(await counts()), money(before), 'no payment, refund, attempt or event written');

    // a key that created nothing is free again once its answer is gone: on another payment it is a new capture
    await afterRetention();
    const elsewhere = await post(p(), tenant.token, `/v1/payments/${later.body.id}/capture`, {}, voidKey);
    assert.equal(elsewhere.status, 200, elsewhere.text);
    assert.equal(elsewhere.body.status, 'succeeded');
  });

  /**
   * Makes the next INSERT into events wait on a lock this test holds, then cancels the waiting statement: the request
   * fails in the transaction that records its event, as on a database failover. Returns the failed answer.
   */
  async function failAtEventInsert(t: { after(fn: () => Promise<void>): void }, send: () => Promise<TestResponse>): Promise<TestResponse> {
    const locker = new pg.Client({ connectionString: p().db.ownerUrl });
    t.after(async () => locker.end().catch(() => {}));
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE events IN SHARE MODE');
    const answer = send();
    try {
      const pid = await eventually(async () => {
        // whoever waits on a lock this test holds: only the request's event insert can
        const rows = await locker.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))');
        return rows.rows[0]?.pid;
      }, { timeoutMs: 15_000, what: 'the request waiting on the events lock' });
      await locker.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await locker.query('ROLLBACK');
    }
    return answer;
  }

  it('a request that failed after creating its refund keeps its key: the same request resumes that refund, another body is 422, after expiry 409', async (t) => {
    const pay = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa));
    assert.equal(pay.status, 201);
    const key = randomUUID();
    const failed = await failAtEventInsert(t, () => post(p(), tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 700 }, key));
    assert.ok(failed.status >= 500, failed.text);
    const created = await ownerQuery<{ id: string; status: string }>(p(), 'SELECT id, status FROM refunds WHERE idempotency_key = $1', [key]);
    assert.equal(created.length, 1, 'the refund was created before the failure');
    assert.deepEqual(await keyRecords(key), [{ state: 'in_progress' }], 'the key stays bound to the request that created it');

    const resumed = await post(p(), tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 700 }, key);
    assert.equal(resumed.status, 201, resumed.text);
    assert.equal(resumed.body.id, created[0]!.id, 'the retry finds its own refund');
    assert.equal(resumed.headers.get('idempotent-replayed'), null);
    const other = await post(p(), tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 600 }, key);
    assert.equal(other.status, 422, other.text);
    assert.equal(other.body.error.code, 'idempotency_key_reused');

    await afterRetention();
    const before = await counts();
    assertExpired(await post(p(), tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 700 }, key), resumed.body, `/v1/refunds/${resumed.body.id}`);
    assert.deepEqual(await counts(), before);
    const refunds = await ownerQuery<{ n: number }>(p(), 'SELECT count(*)::int AS n FROM refunds WHERE payment_id = $1', [pay.body.id]);
    assert.equal(refunds[0]!.n, 1);
  });

  it('a request that failed before creating anything releases its key: nothing written, and the key is free for any request', async (t) => {
    const key = randomUUID();
    const before = await counts();
    const failed = await failAtEventInsert(t, () => post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa), key));
    assert.ok(failed.status >= 500, failed.text);
    assert.deepEqual(await counts(), before, 'the payment, its attempt and the claim rolled back or were released');
    const next = await post(p(), tenant.token, '/v1/payments', cardBody(CARDS.visa, { amount: 1234 }), key);
    assert.equal(next.status, 201, next.text);
    assert.equal(next.body.amount, 1234);
    assert.equal(next.headers.get('idempotent-replayed'), null);
  });
});
