import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import Stripe from 'stripe';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';

import { cardData, failureOf, startLocalStripe, stripeClient, type LocalStripe } from './stripe-local.test-kit.js';
import { eventually } from '../../test/helpers/eventually.js';
import { sandboxControl } from '../../test/helpers/sandbox-control.js';

/** Stripe's idempotency rules and the fault switches, seen through the official SDK. */

let db: TestDatabase;
let local: LocalStripe;
let stripe: Stripe;

before(async () => {
  db = await createTestDatabase();
  local = await startLocalStripe({ databaseUrl: db.ownerUrl });
  stripe = local.stripe;
});

after(async () => {
  await local?.close();
  await db?.drop();
});

function params(attempt: string, number = '4242424242424242'): Stripe.PaymentIntentCreateParams {
  return {
    amount: 1_200,
    currency: 'usd',
    confirm: true,
    allowed_payment_method_types: ['card'],
    payment_method_data: cardData(number),
    metadata: { nimbuspay_attempt_id: attempt },
  };
}

async function intentsFor(attempt: string): Promise<string[]> {
  const found = await stripe.paymentIntents.search({ query: `metadata['nimbuspay_attempt_id']:'${attempt}'` });
  return found.data.map((p) => p.id);
}

describe('idempotent requests', () => {
  it('the same key and params replay the saved answer with Idempotent-Replayed, creating nothing more', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    const first = await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
    assert.equal(first.lastResponse.headers['idempotent-replayed'], undefined);
    const again = await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
    assert.equal(again.id, first.id);
    assert.equal(again.lastResponse.headers['idempotent-replayed'], 'true');
    assert.equal(again.lastResponse.headers['original-request'], first.lastResponse.requestId);
    assert.deepEqual(await intentsFor(attempt), [first.id]);
  });

  it('a decline (402) is saved and replayed too', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    const first = await failureOf(stripe.paymentIntents.create(params(attempt, '4000000000000002'), { idempotencyKey: key }));
    const again = await failureOf(stripe.paymentIntents.create(params(attempt, '4000000000000002'), { idempotencyKey: key }));
    assert.ok(again instanceof Stripe.errors.StripeCardError);
    assert.equal(again.payment_intent?.id, first.payment_intent?.id);
    assert.equal(again.headers?.['idempotent-replayed'], 'true');
    assert.equal((await intentsFor(attempt)).length, 1);
  });

  it('the same key with other params is an idempotency_error', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
    const err = await failureOf(stripe.paymentIntents.create({ ...params(attempt), amount: 1_300 }, { idempotencyKey: key }));
    assert.ok(err instanceof Stripe.errors.StripeIdempotencyError, err.constructor.name);
    assert.equal(err.statusCode, 400);
    assert.equal(err.rawType, 'idempotency_error');
    const otherEndpoint = await failureOf(stripe.refunds.create({ payment_intent: 'pi_x' }, { idempotencyKey: key }));
    assert.ok(otherEndpoint instanceof Stripe.errors.StripeIdempotencyError);
  });

  it('a 400 validation failure is not saved: the key can then be used with fixed params', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    const invalid = await failureOf(stripe.paymentIntents.create({ ...params(attempt), amount: 10 }, { idempotencyKey: key }));
    assert.equal(invalid.code, 'amount_too_small');
    const fixed = await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
    assert.equal(fixed.status, 'succeeded');
    assert.equal(fixed.lastResponse.headers['idempotent-replayed'], undefined);
  });

  it('concurrent requests with one key create one PaymentIntent; the others replay it or get 409', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => stripe.paymentIntents.create(params(attempt), { idempotencyKey: key })));
    const ids = new Set<string>();
    for (const o of outcomes) {
      if (o.status === 'fulfilled') ids.add(o.value.id);
      else {
        const err = o.reason as Stripe.errors.StripeError;
        assert.equal(err.statusCode, 409, err.message);
        assert.equal(err.code, 'idempotency_key_in_use');
      }
    }
    assert.equal(ids.size, 1);
    assert.deepEqual(await intentsFor(attempt), [...ids]);
  });

  it('a key whose first request is still executing answers 409 idempotency_key_in_use, and is not saved', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    const blocker = new pg.Client({ connectionString: db.ownerUrl });
    await blocker.connect();
    try {
      // Holding the objects table stops the first request mid-execution, after it claimed the key.
      await blocker.query('begin');
      await blocker.query('lock table stripe_local.objects in exclusive mode');
      const first = stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
      await eventually(async () => {
        const { rows } = await blocker.query(`select 1 from stripe_local.idempotency_keys where key = $1 and state = 'executing'`, [key]);
        return rows.length > 0 ? true : undefined;
      }, { timeoutMs: 15_000 });
      const second = await failureOf(stripe.paymentIntents.create(params(attempt), { idempotencyKey: key }));
      assert.ok(second instanceof Stripe.errors.StripeAPIError);
      assert.equal(second.statusCode, 409);
      assert.equal(second.code, 'idempotency_key_in_use');
      await blocker.query('commit');
      const done = await first;
      const replay = await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
      assert.equal(replay.id, done.id);
      assert.equal(replay.lastResponse.headers['idempotent-replayed'], 'true');
    } finally {
      await blocker.query('rollback').catch(() => {});
      await blocker.end();
    }
  });

  it('keys expire after the configured time; the next use is a new request', async () => {
    const short = await startLocalStripe({ databaseUrl: db.ownerUrl, idempotencyKeyTtlMs: 300 });
    try {
      const attempt = randomUUID();
      const key = `key-${attempt}`;
      const first = await short.stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
      const fresh = await eventually(async () => {
        const again = await short.stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
        return again.lastResponse.headers['idempotent-replayed'] === 'true' ? undefined : again;
      }, { timeoutMs: 10_000, intervalMs: 100 });
      assert.notEqual(fresh.id, first.id);
    } finally {
      await short.close();
    }
  });
});

describe('fault switches', () => {
  it('server_error: 500 api_error and nothing executed, so a retry with the key executes', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    await sandboxControl(local.baseUrl, { fail_next: { count: 1, mode: 'server_error', path_prefix: '/v1/payment_intents' } });
    const err = await failureOf(stripe.paymentIntents.create(params(attempt), { idempotencyKey: key }));
    assert.ok(err instanceof Stripe.errors.StripeAPIError);
    assert.equal(err.statusCode, 500);
    assert.equal(err.rawType, 'api_error');
    assert.deepEqual(await intentsFor(attempt), []);
    const retry = await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
    assert.equal(retry.lastResponse.headers['idempotent-replayed'], undefined);
    assert.equal(retry.status, 'succeeded');
  });

  it('rate_limit: 429, which the SDK raises as StripeRateLimitError', async () => {
    await sandboxControl(local.baseUrl, { fail_next: { count: 1, mode: 'rate_limit' } });
    const err = await failureOf(stripe.paymentIntents.retrieve('pi_anything'));
    assert.ok(err instanceof Stripe.errors.StripeRateLimitError);
    assert.equal(err.statusCode, 429);
    assert.equal(err.code, 'rate_limit');
  });

  it('lost_answer: executed and saved, the client times out, and a retry with the key gets the saved answer', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    await sandboxControl(local.baseUrl, { fail_next: { count: 1, mode: 'lost_answer', path_prefix: '/v1/payment_intents' } });
    const impatient = stripeClient(local.port, { timeoutMs: 400 });
    const err = await failureOf(impatient.paymentIntents.create(params(attempt), { idempotencyKey: key }));
    assert.ok(err instanceof Stripe.errors.StripeConnectionError, err.constructor.name);
    await eventually(async () => ((await sandboxControl(local.baseUrl)).held_requests === 0 ? true : undefined), { timeoutMs: 15_000 });
    const retry = await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
    assert.equal(retry.lastResponse.headers['idempotent-replayed'], 'true');
    assert.deepEqual(await intentsFor(attempt), [retry.id]);
  });

  it('connection_reset: executed and saved, then the socket is destroyed; the SDK retries once with the key and gets the replay', async () => {
    const attempt = randomUUID();
    await sandboxControl(local.baseUrl, { fail_next: { count: 1, mode: 'connection_reset', path_prefix: '/v1/payment_intents' } });
    const pi = await stripe.paymentIntents.create(params(attempt));
    assert.equal(pi.lastResponse.headers['idempotent-replayed'], 'true');
    assert.deepEqual(await intentsFor(attempt), [pi.id]);
  });

  it('lost_before: held and never executed; a retry with the key executes once', async () => {
    const attempt = randomUUID();
    const key = `key-${attempt}`;
    await sandboxControl(local.baseUrl, { fail_next: { count: 1, mode: 'lost_before', path_prefix: '/v1/payment_intents' } });
    const impatient = stripeClient(local.port, { timeoutMs: 400 });
    const err = await failureOf(impatient.paymentIntents.create(params(attempt), { idempotencyKey: key }));
    assert.ok(err instanceof Stripe.errors.StripeConnectionError);
    assert.deepEqual(await intentsFor(attempt), []);
    const retry = await stripe.paymentIntents.create(params(attempt), { idempotencyKey: key });
    assert.equal(retry.lastResponse.headers['idempotent-replayed'], undefined);
    assert.deepEqual(await intentsFor(attempt), [retry.id]);
  });

  it('latency_ms delays every API answer', async () => {
    await sandboxControl(local.baseUrl, { latency_ms: 1_000 });
    try {
      const err = await failureOf(stripeClient(local.port, { timeoutMs: 200 }).paymentIntents.retrieve('pi_x'));
      assert.ok(err instanceof Stripe.errors.StripeConnectionError);
    } finally {
      await sandboxControl(local.baseUrl, { latency_ms: 0 });
    }
    const state = await sandboxControl(local.baseUrl);
    assert.equal(state.latency_ms, 0);
    assert.equal(state.fail_next, null);
  });

  it('a closing server releases the answers it holds', async () => {
    const other = await startLocalStripe({ databaseUrl: db.ownerUrl });
    await sandboxControl(other.baseUrl, { fail_next: { count: 1, mode: 'lost_answer' } });
    const pending = failureOf(other.stripe.paymentIntents.create(params(randomUUID())));
    await eventually(async () => ((await sandboxControl(other.baseUrl)).held_requests === 1 ? true : undefined), { timeoutMs: 15_000 });
    await other.close();
    assert.ok((await pending) instanceof Stripe.errors.StripeConnectionError);
  });
});
