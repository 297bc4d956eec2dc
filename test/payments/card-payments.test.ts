import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, post, waitForPaymentStatus } from './helpers.js';

describe('card payments: the sandbox card table end to end', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  before(async () => {
    platform = await startTestPlatform({ worker: true });
    tenant = await createTenant(platform);
  });
  after(async () => platform.close());

  for (const [name, number, brand] of [['visa', CARDS.visa, 'visa'], ['mastercard', CARDS.mastercard, 'mastercard'], ['amex', CARDS.amex, 'amex']] as const) {
    it(`approves ${name} with automatic capture`, async () => {
      const res = await post(platform, tenant.token, '/v1/payments', cardBody(number, { metadata: { order: '42' }, customer_reference: 'cus_1' }));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.status, 'succeeded');
      assert.equal(res.body.amount_captured, 2000);
      assert.equal(res.body.amount_capturable, 0);
      assert.equal(res.body.payment_method.card.brand, brand);
      assert.equal(res.body.payment_method.card.last4, number.slice(-4));
      assert.match(res.body.payment_method.card.fingerprint, /^[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(res.body.metadata, { order: '42' });
      assert.equal(res.body.failure_code, null);
      assert.equal(JSON.stringify(res.body).includes(number), false);
    });
  }

  for (const [number, code] of [
    [CARDS.declined, 'card_declined'],
    [CARDS.insufficientFunds, 'insufficient_funds'],
    [CARDS.expired, 'expired_card'],
    [CARDS.incorrectCvc, 'incorrect_cvc'],
  ] as const) {
    it(`a decline (${code}) is a failed payment returned 201, not an error`, async () => {
      const res = await post(platform, tenant.token, '/v1/payments', cardBody(number));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.status, 'failed');
      assert.equal(res.body.failure_code, code);
      assert.ok(res.body.failure_message);
      assert.equal(res.body.amount_captured, 0);
    });
  }

  it('a processor answering 5xx every time: bounded retries with one key, then failed processing_error', async () => {
    const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.processorError));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.status, 'failed');
    assert.equal(res.body.failure_code, 'processing_error');
    const detail = await platform.request('GET', `/v1/payments/${res.body.id}?expand=attempts`, { token: tenant.token });
    assert.equal(detail.body.attempts.length, 1, 'one attempt, retried under the same idempotency key');
  });

  it('a lost response (approved after our timeout) stays processing, then reconciliation finds it succeeded', async () => {
    const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.lostResponse));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.status, 'processing');
    const done = await waitForPaymentStatus(platform, tenant.token, res.body.id, 'succeeded');
    assert.equal(done.amount_captured, 2000);
    assert.equal(done.attempts[0].status, 'succeeded');
    assert.ok(done.attempts[0].reconcile_count >= 1);
    assert.deepEqual(done.status_history.map((t: { to_status: string }) => t.to_status), ['processing', 'succeeded']);
  });

  it('a timeout where the processor recorded nothing resolves as failed processor_timeout', async () => {
    const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.timeoutNothingRecorded));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.status, 'processing');
    const done = await waitForPaymentStatus(platform, tenant.token, res.body.id, 'failed', 20_000);
    assert.equal(done.failure_code, 'processor_timeout');
  });

  it('manual capture: authorize, partial capture, the rest is released; a second capture is refused', async () => {
    const auth = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual', amount: 5000 }));
    assert.equal(auth.body.status, 'requires_capture');
    assert.equal(auth.body.amount_capturable, 5000);
    const too = await post(platform, tenant.token, `/v1/payments/${auth.body.id}/capture`, { amount: 5001 });
    assert.equal(too.status, 400);
    assert.equal(too.body.error.param, 'amount');
    const cap = await post(platform, tenant.token, `/v1/payments/${auth.body.id}/capture`, { amount: 3000 });
    assert.equal(cap.status, 200, cap.text);
    assert.equal(cap.body.status, 'succeeded');
    assert.equal(cap.body.amount_captured, 3000);
    assert.equal(cap.body.amount_capturable, 0);
    const again = await post(platform, tenant.token, `/v1/payments/${auth.body.id}/capture`, {});
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'invalid_state');
    assert.match(again.body.error.message, /succeeded/);
  });

  it('cancel voids an uncaptured authorization; capture after cancel is refused', async () => {
    const auth = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const cancel = await post(platform, tenant.token, `/v1/payments/${auth.body.id}/cancel`, {});
    assert.equal(cancel.status, 200, cancel.text);
    assert.equal(cancel.body.status, 'canceled');
    const cap = await post(platform, tenant.token, `/v1/payments/${auth.body.id}/capture`, {});
    assert.equal(cap.status, 409);
    assert.match(cap.body.error.message, /canceled/);
  });

  it('refunds: partial, several, never above captured; full refund then nothing left', async () => {
    const pay = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { amount: 1000 }));
    const r1 = await post(platform, tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 300, reason: 'requested_by_customer' });
    assert.equal(r1.status, 201, r1.text);
    assert.equal(r1.body.status, 'succeeded');
    assert.equal(r1.body.amount, 300);
    const over = await post(platform, tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 701 });
    assert.equal(over.status, 400);
    assert.equal(over.body.error.param, 'amount');
    const rest = await post(platform, tenant.token, `/v1/payments/${pay.body.id}/refunds`, {});
    assert.equal(rest.body.amount, 700);
    const none = await post(platform, tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 1 });
    assert.equal(none.status, 409);
    const payment = await platform.request('GET', `/v1/payments/${pay.body.id}`, { token: tenant.token });
    assert.equal(payment.body.amount_refunded, 1000);
    const list = await platform.request('GET', `/v1/payments/${pay.body.id}/refunds`, { token: tenant.token });
    assert.deepEqual(list.body.data.map((r: { amount: number }) => r.amount).sort(), [300, 700]);
    const one = await platform.request('GET', `/v1/refunds/${r1.body.id}`, { token: tenant.token });
    assert.equal(one.body.id, r1.body.id);
  });

  it('a refund the processor declines is a failed refund and releases its amount', async () => {
    const pay = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.refundDeclined, { amount: 1000 }));
    assert.equal(pay.body.status, 'succeeded');
    const refund = await post(platform, tenant.token, `/v1/payments/${pay.body.id}/refunds`, { amount: 400 });
    assert.equal(refund.status, 201, refund.text);
    assert.equal(refund.body.status, 'failed');
    assert.ok(refund.body.failure_code);
    const payment = await platform.request('GET', `/v1/payments/${pay.body.id}`, { token: tenant.token });
    assert.equal(payment.body.amount_refunded, 0);
  });

  it('refund of an uncaptured or failed payment is refused with invalid_state', async () => {
    const auth = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const r = await post(platform, tenant.token, `/v1/payments/${auth.body.id}/refunds`, {});
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /requires_capture/);
    const failed = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.declined));
    const r2 = await post(platform, tenant.token, `/v1/payments/${failed.body.id}/refunds`, {});
    assert.equal(r2.status, 409);
  });

  it('zero-decimal currency: JPY amounts are whole yen', async () => {
    const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { amount: 500, currency: 'JPY' }));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.currency, 'jpy');
    assert.equal(res.body.amount, 500);
  });
});
