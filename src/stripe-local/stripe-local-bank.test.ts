import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import Stripe from 'stripe';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';

import {
  bankData, cardData, failureOf, startLocalStripe, startWebhookReceiver, WEBHOOK_SECRET, type LocalStripe, type WebhookReceiver,
} from './stripe-local.test-kit.js';
import { eventually } from '../../test/helpers/eventually.js';
import { sandboxControl } from '../../test/helpers/sandbox-control.js';

/**
 * ACH debits settling and failing after a delay, disputes, and signed webhooks received by a real HTTP server on
 * loopback and verified with the SDK's own constructEvent; then durability across a restart.
 */

const SETTLEMENT_MS = 250;

let db: TestDatabase;
let local: LocalStripe;
let stripe: Stripe;
let receiver: WebhookReceiver;

function webhookOptions(url: string) {
  return { url, secret: WEBHOOK_SECRET, retryBaseDelayMs: 50, maxRetryDelayMs: 200 };
}

before(async () => {
  db = await createTestDatabase();
  receiver = await startWebhookReceiver(new Stripe('sk_test_receiver_only'));
  local = await startLocalStripe({ databaseUrl: db.ownerUrl, settlementDelayMs: SETTLEMENT_MS, webhook: webhookOptions(receiver.url), random: () => 0.5 });
  stripe = local.stripe;
});

after(async () => {
  await local?.close();
  await receiver?.close();
  await db?.drop();
});

function debit(accountNumber: string, extra: Partial<Stripe.PaymentIntentCreateParams> = {}): Promise<Stripe.Response<Stripe.PaymentIntent>> {
  return stripe.paymentIntents.create({
    amount: 10_000,
    currency: 'usd',
    confirm: true,
    allowed_payment_method_types: ['us_bank_account'],
    payment_method_data: bankData(accountNumber),
    mandate_data: { customer_acceptance: { type: 'offline' } },
    metadata: { nimbuspay_attempt_id: randomUUID() },
    ...extra,
  });
}

function eventFor(type: string, objectId: string): Promise<Stripe.Event> {
  return eventually(async () => receiver.events.find((e) => e.type === type && (e.data.object as { id: string }).id === objectId), { timeoutMs: 15_000 });
}

function typesFor(objectId: string): string[] {
  return receiver.events.filter((e) => (e.data.object as { id: string }).id === objectId).map((e) => e.type);
}

describe('ACH direct debit', () => {
  it('000123456789: processing, then succeeded after the settlement delay, with signed events', async () => {
    const pi = await debit('000123456789', { expand: ['payment_method', 'latest_charge'] });
    assert.equal(pi.status, 'processing');
    const pm = pi.payment_method as Stripe.PaymentMethod;
    assert.equal(pm.type, 'us_bank_account');
    assert.equal(pm.us_bank_account?.last4, '6789');
    assert.equal(pm.us_bank_account?.routing_number, '110000000');
    assert.equal((pi.latest_charge as Stripe.Charge).status, 'pending');

    const succeeded = await eventFor('payment_intent.succeeded', pi.id);
    assert.equal((succeeded.data.object as Stripe.PaymentIntent).status, 'succeeded');
    assert.equal(succeeded.livemode, false);
    assert.equal(succeeded.api_version, Stripe.API_VERSION);
    assert.deepEqual(succeeded.request, { id: null, idempotency_key: null }, 'settlement is automatic');
    const created = await eventFor('payment_intent.created', pi.id);
    assert.equal(created.request?.id, pi.lastResponse.requestId);
    assert.match(created.request?.idempotency_key ?? '', /^stripe-node-retry-/);
    await eventFor('charge.succeeded', (pi.latest_charge as Stripe.Charge).id);
    assert.deepEqual(typesFor(pi.id).slice(0, 2), ['payment_intent.created', 'payment_intent.processing']);
    assert.equal(receiver.badSignatures, 0);
    assert.equal((await stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
    const fetched = await stripe.events.retrieve(succeeded.id);
    assert.equal(fetched.type, 'payment_intent.succeeded');
    const listed = await stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 });
    assert.ok(listed.data.some((e) => e.id === succeeded.id));
    assert.ok(!JSON.stringify(await local.requests()).includes('000123456789'), 'account numbers are masked in the request log');
  });

  for (const [account, code] of [
    ['000111111113', 'account_closed'],
    ['000111111116', 'no_account'],
    ['000222222227', 'insufficient_funds'],
    ['000333333335', 'debit_not_authorized'],
    ['000444444440', 'invalid_currency'],
  ] as const) {
    it(`${account}: processing, then requires_payment_method with ${code}`, async () => {
      const pi = await debit(account);
      assert.equal(pi.status, 'processing');
      const failed = await eventFor('payment_intent.payment_failed', pi.id);
      const failedPi = failed.data.object as Stripe.PaymentIntent;
      assert.equal(failedPi.status, 'requires_payment_method');
      assert.equal(failedPi.last_payment_error?.code, code);
      const charge = (await eventFor('charge.failed', pi.latest_charge as string)).data.object as Stripe.Charge;
      assert.equal(charge.failure_code, code);
      assert.equal(charge.status, 'failed');
    });
  }

  it('confirming without mandate_data is parameter_missing, and other currencies are refused', async () => {
    const noMandate = await failureOf(debit('000123456789', { mandate_data: undefined }));
    assert.ok(noMandate instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(noMandate.code, 'parameter_missing');
    assert.equal(noMandate.param, 'mandate_data');
    const eur = await failureOf(debit('000123456789', { currency: 'eur' }));
    assert.equal(eur.param, 'currency');
  });

  it('a bank refund is pending, then succeeded (refund.updated)', async () => {
    const pi = await debit('000123456789');
    await eventFor('payment_intent.succeeded', pi.id);
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 4_000 });
    assert.equal(refund.status, 'pending');
    const updated = await eventFor('refund.updated', refund.id);
    assert.equal((updated.data.object as Stripe.Refund).status, 'succeeded');
    assert.deepEqual(updated.data.previous_attributes, { status: 'pending' });
    assert.equal((await stripe.refunds.retrieve(refund.id)).status, 'succeeded');
  });

  it('a late return is a dispute: the local test helper marks the charge disputed and emits charge.dispute.created', async () => {
    const pi = await debit('000123456789');
    await eventFor('payment_intent.succeeded', pi.id);
    const dispute = (await stripe.rawRequest('POST', `/v1/test_helpers/local/payment_intents/${pi.id}/dispute`, {})) as unknown as Stripe.Dispute;
    assert.equal(dispute.object, 'dispute');
    assert.match(dispute.id, /^dp_/);
    assert.equal(dispute.reason, 'debit_not_authorized');
    assert.equal(dispute.amount, 10_000);
    assert.equal(dispute.payment_intent, pi.id);
    const event = await eventFor('charge.dispute.created', dispute.id);
    assert.equal((event.data.object as Stripe.Dispute).charge, pi.latest_charge);
    const charge = (await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] })).latest_charge as Stripe.Charge;
    assert.equal(charge.disputed, true);
    const refund = await failureOf(stripe.refunds.create({ payment_intent: pi.id }));
    assert.equal(refund.code, 'charge_disputed');
  });

  it('000555555559 settles and is then disputed by itself', async () => {
    const pi = await debit('000555555559');
    await eventFor('payment_intent.succeeded', pi.id);
    const disputed = await eventually(async () =>
      receiver.events.find((e) => e.type === 'charge.dispute.created' && (e.data.object as Stripe.Dispute).payment_intent === pi.id), { timeoutMs: 15_000 });
    assert.equal((disputed.data.object as Stripe.Dispute).reason, 'debit_not_authorized');
  });

  it('000000000009 stays processing, and can be canceled', async () => {
    const pi = await debit('000000000009');
    const canceled = await stripe.paymentIntents.cancel(pi.id);
    assert.equal(canceled.status, 'canceled');
    await eventFor('payment_intent.canceled', pi.id);
  });
});

describe('webhook delivery', () => {
  it('retries a failing endpoint with backoff until it answers 2xx', async () => {
    receiver.failNext(2);
    const pi = await stripe.paymentIntents.create({ amount: 900, currency: 'usd', confirm: true, payment_method_data: cardData('4242424242424242') });
    await eventFor('payment_intent.succeeded', pi.id);
    await eventually(async () => ((await sandboxControl(local.baseUrl)).pending_webhooks === 0 ? true : undefined), { timeoutMs: 15_000 });
    const stored = (await stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 })).data.find((e) => (e.data.object as { id: string }).id === pi.id);
    assert.equal(stored?.pending_webhooks, 0);
  });

  it('drop_webhooks: events are recorded but not sent', async () => {
    await sandboxControl(local.baseUrl, { drop_webhooks: true });
    const dropped = await stripe.paymentIntents.create({ amount: 900, currency: 'usd', confirm: true, payment_method_data: cardData('4242424242424242') });
    await eventually(async () => ((await sandboxControl(local.baseUrl)).pending_webhooks === 0 ? true : undefined), { timeoutMs: 15_000 });
    await sandboxControl(local.baseUrl, { drop_webhooks: false });
    const sent = await stripe.paymentIntents.create({ amount: 900, currency: 'usd', confirm: true, payment_method_data: cardData('4242424242424242') });
    await eventFor('payment_intent.succeeded', sent.id);
    assert.deepEqual(typesFor(dropped.id), []);
    const recorded = await stripe.events.list({ limit: 100 });
    assert.ok(recorded.data.some((e) => (e.data.object as { id: string }).id === dropped.id));
  });
});

describe('durability', () => {
  it('after a restart, state and idempotency records remain, and a debit due while down settles and is sent', async () => {
    const first = await startLocalStripe({ databaseUrl: db.ownerUrl, settlementDelayMs: 1_500, webhook: webhookOptions(receiver.url) });
    let second: LocalStripe | undefined;
    try {
      const key = `restart-${randomUUID()}`;
      // the same debit under the same key, sent to the first server and replayed to the second
      const sameDebit = (stripe: Stripe) => stripe.paymentIntents.create(
        {
          amount: 7_700,
          currency: 'usd',
          confirm: true,
          allowed_payment_method_types: ['us_bank_account'],
          payment_method_data: bankData('000123456789'),
          mandate_data: { customer_acceptance: { type: 'offline' } },
        },
        { idempotencyKey: key },
      );
      const pi = await sameDebit(first.stripe);
      assert.equal(pi.status, 'processing');
      await first.close();
      // A claim left `executing` by a process that died (as after kill -9) must not block its key forever.
      const orphanKey = `orphan-${randomUUID()}`;
      const client = new pg.Client({ connectionString: db.ownerUrl });
      await client.connect();
      await client.query(
        `insert into stripe_local.idempotency_keys (key, method, path, fingerprint, state, boot_id, request_id, expires_at)
         values ($1, 'POST', '/v1/payment_intents', 'x', 'executing', 'dead-process', 'req_dead', now() + interval '1 day')`,
        [orphanKey],
      );
      await client.end();

      second = await startLocalStripe({ databaseUrl: db.ownerUrl, settlementDelayMs: 1_500, webhook: webhookOptions(receiver.url) });
      const settled = await eventFor('payment_intent.succeeded', pi.id);
      assert.equal((settled.data.object as Stripe.PaymentIntent).amount_received, 7_700);
      assert.equal((await second.stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
      const replay = await sameDebit(second.stripe);
      assert.equal(replay.id, pi.id);
      assert.equal(replay.lastResponse.headers['idempotent-replayed'], 'true');
      const orphanUse = await second.stripe.paymentIntents.create(
        { amount: 500, currency: 'usd', confirm: true, payment_method_data: cardData('4242424242424242') },
        { idempotencyKey: orphanKey },
      );
      assert.equal(orphanUse.status, 'succeeded');
    } finally {
      await first.close().catch(() => {});
      await second?.close();
    }
  });
});
