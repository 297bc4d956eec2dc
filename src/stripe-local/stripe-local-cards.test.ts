import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { cardData, startLocalStripe, stripeClient, type LocalStripe } from './stripe-local.test-kit.js';

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
    payment_method_types: ['card'],
    payment_method_data: cardData(number, card),
    ...extra,
  });
}

async function declineOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  assert.fail('expected the request to fail');
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
