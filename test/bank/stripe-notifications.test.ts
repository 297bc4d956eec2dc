import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import { startTestPlatform, STRIPE_TEST_WEBHOOK_SECRET, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { createTransfer, debitOf, getPayment, history, notificationCount, waitForTransfer } from './helpers.js';

import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

/**
 * POST /v1/processor_notifications/stripe, driven by hand: the local Stripe server's own webhooks are switched off,
 * and the worker's polls are far away (BANK_EXPECTED_SETTLEMENT_MS default), so only the events sent here move money.
 */

const ROTATED_SECRET = 'whsec_rotated_in_new_secret';

let platform: TestPlatform;
let tenant: TestTenant;

async function stripeObject(path: string): Promise<any> {
  const res = await fetch(`${platform.sandboxUrl}${path}`, { headers: { authorization: `Bearer ${platform.config.stripeSecretKey}` } });
  assert.equal(res.status, 200);
  return res.json();
}

function eventOf(id: string, type: string, object: unknown, createdSec = Math.floor(Date.now() / 1000)): string {
  return JSON.stringify({ id, object: 'event', api_version: Stripe.API_VERSION, created: createdSec, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object } });
}

function send(payload: string, options: { secret?: string; timestampSec?: number; header?: string | null } = {}) {
  const header = options.header === undefined
    ? Stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? ROTATED_SECRET, ...(options.timestampSec !== undefined ? { timestamp: options.timestampSec } : {}) })
    : options.header;
  return platform.request('POST', '/v1/processor_notifications/stripe', {
    rawBody: payload,
    headers: { 'content-type': 'application/json', ...(header !== null ? { 'stripe-signature': header } : {}) },
  });
}

describe('Stripe webhook events', () => {
  before(async () => {
    platform = await startTestPlatform({
      processor: 'stripe',
      worker: true,
      // Two secrets, as during a rotation: events signed with either are accepted.
      env: { STRIPE_WEBHOOK_SECRETS: `${ROTATED_SECRET},${STRIPE_TEST_WEBHOOK_SECRET}`, BANK_EXPECTED_SETTLEMENT_MS: '600000' },
    });
    tenant = await createTenant(platform);
    await sandboxControl(platform, { drop_webhooks: true });
  });
  after(async () => {
    await platform?.close();
  });

  it('a signed settlement moves the transfer once; a redelivery is a duplicate; bad signatures change nothing', async () => {
    const created = await createTransfer(platform, tenant.token, '000123456789');
    const submitted = await waitForTransfer(platform, tenant.token, created.id, { rail: 'submitted' }, 30_000);
    const { attemptId, debitId } = debitOf(submitted);
    const pi = await stripeObject(`/v1/payment_intents/${debitId}`);
    assert.equal(pi.metadata.nimbuspay_attempt_id, attemptId);
    // Wait until the local server settled it, so the event carries the settled PaymentIntent.
    const settledPi = await eventually(async () => {
      const current = await stripeObject(`/v1/payment_intents/${debitId}`);
      return current.status === 'succeeded' ? current : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal((await getPayment(platform, tenant.token, created.id)).bank_transfer.rail_status, 'submitted', 'nothing moved the transfer yet');

    const payload = eventOf('evt_local_settled_1', 'payment_intent.succeeded', settledPi);
    const before = await notificationCount(platform);

    const tampered = await send(payload.replace('"succeeded"', '"processing"'), { header: Stripe.webhooks.generateTestHeaderString({ payload, secret: ROTATED_SECRET }) });
    assert.equal(tampered.status, 401, tampered.text);
    assert.equal(tampered.body.error.code, 'invalid_signature');
    const stale = await send(payload, { timestampSec: Math.floor(Date.now() / 1000) - 3_600 });
    assert.equal(stale.status, 401);
    const unsigned = await send(payload, { header: null });
    assert.equal(unsigned.status, 401);
    const wrongSecret = await send(payload, { secret: 'whsec_not_ours' });
    assert.equal(wrongSecret.status, 401);
    assert.equal(await notificationCount(platform), before, 'refused events are not recorded');
    assert.equal((await getPayment(platform, tenant.token, created.id)).status, 'processing');

    const first = await send(payload);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body, { received: true, duplicate: false });
    const settled = await getPayment(platform, tenant.token, created.id);
    assert.equal(settled.status, 'succeeded');
    assert.equal(settled.bank_transfer.rail_status, 'settled');

    // The old secret still verifies during the rotation; the same event id is not applied twice.
    const again = await send(payload, { secret: STRIPE_TEST_WEBHOOK_SECRET });
    assert.deepEqual(again.body, { received: true, duplicate: true });
    assert.equal(await notificationCount(platform), before + 1);

    // A dispute of the settled debit is a late return: the payment is reversed with R10.
    const dispute = { id: 'dp_local_1', object: 'dispute', amount: settledPi.amount, charge: settledPi.latest_charge, payment_intent: debitId, reason: 'debit_not_authorized', status: 'lost' };
    const disputed = await send(eventOf('evt_local_dispute_1', 'charge.dispute.created', dispute));
    assert.equal(disputed.status, 200, disputed.text);
    const reversed = await getPayment(platform, tenant.token, created.id);
    assert.equal(reversed.status, 'reversed');
    assert.equal(reversed.bank_transfer.return_code, 'R10');
    assert.deepEqual(history(reversed).slice(-2), ['succeeded/settled', 'reversed/returned']);
  });

  it('events NimbusPay does not act on are recorded and acknowledged', async () => {
    const res = await send(eventOf('evt_local_customer_1', 'customer.created', { id: 'cus_1', object: 'customer' }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { received: true, duplicate: false });
  });
});

describe('Stripe webhook endpoint when Stripe is not the processor', () => {
  it('answers 404, like any processor that may not notify us', async (t) => {
    const sandboxPlatform = await startTestPlatform();
    t.after(() => sandboxPlatform.close());
    const payload = eventOf('evt_x', 'payment_intent.succeeded', {});
    const res = await sandboxPlatform.request('POST', '/v1/processor_notifications/stripe', {
      rawBody: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_TEST_WEBHOOK_SECRET }) },
    });
    assert.equal(res.status, 404, res.text);
  });
});
