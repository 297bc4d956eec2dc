import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';

import { cardData, failureOf, startLocalStripe, stripeClient, type LocalStripe } from './stripe-local.test-kit.js';
import { eventually } from '../../test/helpers/eventually.js';
import { sandboxControl } from '../../test/helpers/sandbox-control.js';

/** Card payments against the local server, driven only through the official SDK. */

let db: TestDatabase;
let local: LocalStripe;
let stripe: Stripe;

before(async () => {
  db = await createTestDatabase();
  local = await startLocalStripe({ databaseUrl: db.ownerUrl, settlementDelayMs: 200 });
  stripe = local.stripe;
});

after(async () => {
  await local?.close();
  await db?.drop();
});

function payWith(number: string, extra: Partial<Stripe.PaymentIntentCreateParams> = {}, card: Parameters<typeof cardData>[1] = {}) {
  return stripe.paymentIntents.create({
    amount: 2_500,
    currency: 'usd',
    confirm: true,
    allowed_payment_method_types: ['card'],
    payment_method_data: cardData(number, card),
    ...extra,
  });
}

describe('successful test cards', () => {
  for (const [number, brand] of [
    ['4242424242424242', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011111111111117', 'discover'],
  ] as const) {
    it(`${number} succeeds as ${brand} with a charge, and only its last4 is kept`, async () => {
      const pi = await payWith(number, { expand: ['payment_method', 'latest_charge'], metadata: { order: 'o-1' } });
      assert.equal(pi.object, 'payment_intent');
      assert.match(pi.id, /^pi_[A-Za-z0-9]{24}$/);
      assert.equal(pi.status, 'succeeded');
      assert.equal(pi.amount_received, 2_500);
      assert.deepEqual(pi.metadata, { order: 'o-1' });
      const pm = pi.payment_method as Stripe.PaymentMethod;
      assert.equal(pm.card?.brand, brand);
      assert.equal(pm.card?.last4, number.slice(-4));
      assert.equal(pm.card?.funding, 'credit');
      const charge = pi.latest_charge as Stripe.Charge;
      assert.match(charge.id, /^ch_/);
      assert.equal(charge.status, 'succeeded');
      assert.equal(charge.captured, true);
      assert.equal(charge.payment_intent, pi.id);
      const stored = JSON.stringify(await local.requests()) + JSON.stringify(pi);
      assert.ok(!stored.includes(number), 'the full card number appears nowhere');
    });
  }
});

describe('declining test cards', () => {
  const cases = [
    ['4000000000000002', 'card_declined', 'generic_decline', 'Your card was declined.'],
    ['4000000000009995', 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.'],
    ['4000000000000069', 'expired_card', undefined, 'Your card has expired.'],
    ['4000000000000127', 'incorrect_cvc', undefined, "Your card's security code is incorrect."],
    ['4000000000000119', 'processing_error', undefined, 'An error occurred while processing your card. Try again in a little bit.'],
  ] as const;
  for (const [number, code, declineCode, message] of cases) {
    it(`${number} answers 402 ${code}${declineCode ? `/${declineCode}` : ''} with the failed PaymentIntent and charge`, async () => {
      const err = await failureOf(payWith(number));
      assert.ok(err instanceof Stripe.errors.StripeCardError, `got ${err.constructor.name}`);
      assert.equal(err.statusCode, 402);
      assert.equal(err.type, 'StripeCardError');
      assert.equal(err.rawType, 'card_error');
      assert.equal(err.code, code);
      // The SDK turns an absent decline_code into ''; the wire body has none.
      assert.equal((err.raw as { decline_code?: string }).decline_code, declineCode);
      assert.equal(err.message, message);
      assert.match(err.doc_url ?? '', /error-codes/);
      assert.match(err.request_log_url ?? '', /req_/);
      assert.match(err.requestId ?? '', /^req_/);
      assert.match(err.charge ?? '', /^ch_/);
      const pi = err.payment_intent!;
      assert.equal(pi.status, 'requires_payment_method');
      assert.equal(pi.last_payment_error?.code, code);
      assert.equal(pi.last_payment_error?.payment_method?.card?.last4, number.slice(-4));
      assert.equal(err.payment_method?.card?.last4, number.slice(-4));
      // The PaymentIntent exists and can be read back; its charge failed.
      const stored = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
      assert.equal(stored.status, 'requires_payment_method');
      const charge = stored.latest_charge as Stripe.Charge;
      assert.equal(charge.status, 'failed');
      assert.equal(charge.failure_code, code);
    });
  }

  it('a Luhn-invalid number is a card_error incorrect_number, and no PaymentIntent is created', async () => {
    const before = ((await sandboxControl(local.baseUrl)).counts as Record<string, number>).payment_intent ?? 0;
    const err = await failureOf(payWith('4242424242424241'));
    assert.ok(err instanceof Stripe.errors.StripeCardError);
    assert.equal(err.code, 'incorrect_number');
    assert.equal(err.payment_intent, undefined);
    assert.equal(((await sandboxControl(local.baseUrl)).counts as Record<string, number>).payment_intent ?? 0, before);
  });

  it('a past expiry year is invalid_expiry_year, a past month this year invalid_expiry_month, month 13 too', async () => {
    const year = new Date().getUTCFullYear();
    assert.equal((await failureOf(payWith('4242424242424242', {}, { exp_year: year - 1 }))).code, 'invalid_expiry_year');
    assert.equal((await failureOf(payWith('4242424242424242', {}, { exp_month: 13 }))).code, 'invalid_expiry_month');
    if (new Date().getUTCMonth() > 0) {
      const err = await failureOf(payWith('4242424242424242', {}, { exp_year: year, exp_month: 1 }));
      assert.equal(err.code, 'invalid_expiry_month');
    }
  });
});

describe('manual capture and cancel', () => {
  it('authorizes, then captures in full', async () => {
    const pi = await payWith('4242424242424242', { capture_method: 'manual' });
    assert.equal(pi.status, 'requires_capture');
    assert.equal(pi.amount_capturable, 2_500);
    const captured = await stripe.paymentIntents.capture(pi.id, { expand: ['latest_charge'] });
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.amount_received, 2_500);
    assert.equal((captured.latest_charge as Stripe.Charge).amount_captured, 2_500);
  });

  it('a partial capture releases the rest, which then cannot be refunded', async () => {
    const pi = await payWith('5555555555554444', { capture_method: 'manual' });
    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1_000, expand: ['latest_charge'] });
    assert.equal(captured.amount_received, 1_000);
    assert.equal(captured.amount_capturable, 0);
    const charge = captured.latest_charge as Stripe.Charge;
    assert.equal(charge.amount_captured, 1_000);
    assert.equal(charge.amount_refunded, 1_500);
    const err = await failureOf(stripe.refunds.create({ payment_intent: pi.id, amount: 1_001 }));
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(err.code, 'amount_too_large');
    const refund = await stripe.refunds.create({ payment_intent: pi.id });
    assert.equal(refund.amount, 1_000);
  });

  it('capturing twice, or more than authorized, is refused with the PaymentIntent attached', async () => {
    const pi = await payWith('4242424242424242', { capture_method: 'manual' });
    const tooMuch = await failureOf(stripe.paymentIntents.capture(pi.id, { amount_to_capture: 2_501 }));
    assert.equal(tooMuch.code, 'amount_too_large');
    await stripe.paymentIntents.capture(pi.id);
    const again = await failureOf(stripe.paymentIntents.capture(pi.id));
    assert.ok(again instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(again.statusCode, 400);
    assert.equal(again.code, 'payment_intent_unexpected_state');
    assert.equal(again.payment_intent?.status, 'succeeded');
  });

  it('cancels an authorization (released in full) but not a succeeded payment', async () => {
    const pi = await payWith('4242424242424242', { capture_method: 'manual' });
    const canceled = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: 'requested_by_customer', expand: ['latest_charge'] });
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.cancellation_reason, 'requested_by_customer');
    assert.ok(canceled.canceled_at);
    assert.equal((canceled.latest_charge as Stripe.Charge).refunded, true);
    const paid = await payWith('4242424242424242');
    const err = await failureOf(stripe.paymentIntents.cancel(paid.id));
    assert.equal(err.code, 'payment_intent_unexpected_state');
  });

  it('a declined PaymentIntent can be canceled', async () => {
    const err = await failureOf(payWith('4000000000000002'));
    const canceled = await stripe.paymentIntents.cancel(err.payment_intent!.id);
    assert.equal(canceled.status, 'canceled');
  });
});

describe('refunds', () => {
  it('several partial refunds up to the captured amount, then amount_too_large and charge_already_refunded', async () => {
    const pi = await payWith('4242424242424242', { metadata: { nimbuspay_attempt_id: 'att_refunds' } });
    const first = await stripe.refunds.create({ payment_intent: pi.id, amount: 1_000, reason: 'requested_by_customer', metadata: { r: '1' } });
    assert.match(first.id, /^re_/);
    assert.equal(first.status, 'succeeded');
    assert.equal(first.charge, pi.latest_charge);
    assert.deepEqual(first.metadata, { r: '1' });
    await stripe.refunds.create({ payment_intent: pi.id, amount: 1_000 });
    const tooLarge = await failureOf(stripe.refunds.create({ payment_intent: pi.id, amount: 501 }));
    assert.ok(tooLarge instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(tooLarge.code, 'amount_too_large');
    assert.equal(tooLarge.param, 'amount');
    const last = await stripe.refunds.create({ payment_intent: pi.id });
    assert.equal(last.amount, 500);
    const done = await failureOf(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }));
    assert.equal(done.code, 'charge_already_refunded');
    const list = await stripe.refunds.list({ payment_intent: pi.id, limit: 2 });
    assert.equal(list.object, 'list');
    assert.equal(list.data.length, 2);
    assert.equal(list.has_more, true);
    assert.equal(list.data[0]!.id, last.id, 'newest first');
    const all = await stripe.refunds.list({ payment_intent: pi.id }).autoPagingToArray({ limit: 10 });
    assert.equal(all.length, 3);
    assert.equal((await stripe.refunds.retrieve(first.id)).amount, 1_000);
    const charge = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    assert.equal((charge.latest_charge as Stripe.Charge).refunded, true);
  });

  it('refunding a PaymentIntent that has not succeeded is refused', async () => {
    const pi = await payWith('4242424242424242', { capture_method: 'manual' });
    const err = await failureOf(stripe.refunds.create({ payment_intent: pi.id }));
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /does not have a successful charge to refund/);
  });

  it('4000000000005126: the refund answers succeeded, then turns failed', async () => {
    const pi = await payWith('4000000000005126');
    assert.equal(pi.status, 'succeeded');
    const refund = await stripe.refunds.create({ payment_intent: pi.id });
    assert.equal(refund.status, 'succeeded');
    const failed = await eventually(async () => {
      const r = await stripe.refunds.retrieve(refund.id);
      return r.status === 'failed' ? r : undefined;
    }, { timeoutMs: 15_000 });
    assert.equal(failed.failure_reason, 'expired_or_canceled_card');
    const types = (await stripe.events.list({ limit: 20 })).data.filter((e) => (e.data.object as { id?: string }).id === refund.id).map((e) => e.type);
    assert.ok(types.includes('refund.failed'));
    assert.ok(types.includes('charge.refund.updated'));
  });
});

describe('search', () => {
  it("finds PaymentIntents by metadata['key']:'value' AND status, after the configured lag", async () => {
    const attempt = `att_${Date.now()}`;
    const pi = await payWith('4242424242424242', { metadata: { nimbuspay_attempt_id: attempt, tenant: 't1' } });
    await payWith('4242424242424242', { metadata: { nimbuspay_attempt_id: `${attempt}_other` } });
    const found = await stripe.paymentIntents.search({ query: `metadata['nimbuspay_attempt_id']:'${attempt}'` });
    assert.equal(found.object, 'search_result');
    assert.deepEqual(found.data.map((p) => p.id), [pi.id]);
    const both = await stripe.paymentIntents.search({ query: `metadata['nimbuspay_attempt_id']:'${attempt}' AND status:'succeeded'` });
    assert.equal(both.data.length, 1);
    const none = await stripe.paymentIntents.search({ query: `metadata['nimbuspay_attempt_id']:'${attempt}' AND status:'canceled'` });
    assert.equal(none.data.length, 0);

    await sandboxControl(local.baseUrl, { search_lag_ms: 60_000 });
    try {
      const lagging = `att_lag_${Date.now()}`;
      await payWith('4242424242424242', { metadata: { nimbuspay_attempt_id: lagging } });
      const notYet = await stripe.paymentIntents.search({ query: `metadata['nimbuspay_attempt_id']:'${lagging}'` });
      assert.equal(notYet.data.length, 0, 'not yet indexed');
    } finally {
      await sandboxControl(local.baseUrl, { search_lag_ms: 0 });
    }
    const bad = await failureOf(stripe.paymentIntents.search({ query: `metadata['x']:'y' OR status:'succeeded'` }));
    assert.ok(bad instanceof Stripe.errors.StripeInvalidRequestError);
  });
});

describe('parameters, authentication and errors as Stripe sends them', () => {
  it('an unknown parameter is parameter_unknown, a missing one parameter_missing, and neither creates anything', async () => {
    const unknown = await failureOf(
      stripe.paymentIntents.create({ amount: 1_000, currency: 'usd', confirm: true, payment_method_data: cardData('4242424242424242'), bogus: 'x' } as Stripe.PaymentIntentCreateParams),
    );
    assert.ok(unknown instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(unknown.code, 'parameter_unknown');
    assert.equal(unknown.param, 'bogus');
    const nested = await failureOf(
      stripe.paymentIntents.create({ amount: 1_000, currency: 'usd', payment_method_data: { ...cardData('4242424242424242'), card: { number: '4242424242424242', exp_month: 1, exp_year: 2090, color: 'red' } } } as unknown as Stripe.PaymentIntentCreateParams),
    );
    assert.equal(nested.param, 'payment_method_data[card][color]');
    const missing = await failureOf(stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams));
    assert.equal(missing.code, 'parameter_missing');
    assert.equal(missing.param, 'amount');
    const badInt = await failureOf(stripe.paymentIntents.create({ amount: 'ten', currency: 'usd' } as unknown as Stripe.PaymentIntentCreateParams));
    assert.equal(badInt.code, 'parameter_invalid_integer');
  });

  it('accepts the older payment_method_types name too', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1_000,
      currency: 'usd',
      confirm: true,
      payment_method_types: ['card'],
      payment_method_data: cardData('4242424242424242'),
    } as unknown as Stripe.PaymentIntentCreateParams);
    assert.deepEqual(pi.payment_method_types, ['card']);
  });

  it('a missing PaymentIntent is 404 resource_missing', async () => {
    const err = await failureOf(stripe.paymentIntents.retrieve('pi_doesnotexist0000000000000'));
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, 'resource_missing');
  });

  it('refuses a missing key, an unknown key and a live key with 401; accepts basic auth; echoes Request-Id and Stripe-Version', async () => {
    for (const apiKey of ['sk_live_abcdef123456', 'pk_test_abcdef123456']) {
      const err = await failureOf(stripeClient(local.port, { apiKey }).paymentIntents.retrieve('pi_x'));
      assert.ok(err instanceof Stripe.errors.StripeAuthenticationError, apiKey);
      assert.equal(err.statusCode, 401);
    }
    const none = await fetch(`${local.baseUrl}/v1/payment_intents/pi_x`);
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { error: { message: string } }).error.message, /did not provide an API key/);
    const basic = await fetch(`${local.baseUrl}/v1/payment_intents/pi_x`, {
      headers: { authorization: `Basic ${Buffer.from('sk_test_basic_user:').toString('base64')}`, 'stripe-version': '2024-06-20' },
    });
    assert.equal(basic.status, 404);
    assert.match(basic.headers.get('request-id') ?? '', /^req_[A-Za-z0-9]{14}$/);
    assert.equal(basic.headers.get('stripe-version'), '2024-06-20');
    const pi = await payWith('4242424242424242');
    assert.equal(pi.lastResponse.headers['stripe-version'], Stripe.API_VERSION);
    assert.match(pi.lastResponse.requestId, /^req_/);
  });

  it('the request log keeps headers and params, with card numbers cut to their last 4 digits and no CVC', async () => {
    await sandboxControl(local.baseUrl, { clear_requests: true });
    await payWith('5555555555554444', {}, { cvc: '987' });
    const [entry] = await local.requests();
    assert.equal(entry!.method, 'POST');
    assert.equal(entry!.path, '/v1/payment_intents');
    assert.equal(entry!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(entry!.headers['stripe-version'], Stripe.API_VERSION);
    assert.match(entry!.headers['idempotency-key'], /^stripe-node-retry-/);
    assert.equal(entry!.params.amount, '2500');
    assert.equal(entry!.params.payment_method_data.card.number, '************4444');
    assert.equal(entry!.params.payment_method_data.card.cvc, '***');
  });
});
