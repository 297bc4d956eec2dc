import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { cardBody, ownerQuery, post, waitForPaymentStatus } from '../payments/helpers.js';
import { bankBody, waitForTransfer } from '../bank/helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

/**
 * One behavioural suite for every processor: the same request with each processor's instrument for a scenario (its
 * test card or account, or its fault switch) must end in the same NimbusPay status with the same failure code, and
 * the money NimbusPay recorded must be what the processor itself recorded.
 */

export type ProcessorName = 'sandbox' | 'stripe';

/** How a processor is made to produce a scenario; each returns the card or account number to send. */
export interface ProcessorInstruments {
  /** The processor acts, but its answer never reaches NimbusPay (the request times out). */
  answerLost(platform: TestPlatform): Promise<string>;
  /** The request times out and the processor records nothing. */
  nothingRecorded(platform: TestPlatform): Promise<string>;
  /** An account returned before settlement for insufficient funds (NACHA R01). */
  insufficientFundsAccount: string;
  /** An account returned before settlement: no such account (R03). */
  noAccountAccount: string;
  /** Makes a settled debit come back later (an unauthorized-debit return, R10); the account to debit. */
  lateReturnAccount: string;
  lateReturn(platform: TestPlatform, payment: { id: string; processorReference: string }): Promise<void>;
  /** The processor's own record of a payment: what it authorized, captured and refunded. */
  recorded(platform: TestPlatform, processorReference: string): Promise<{ amount: number; captured: number; refunded: number }>;
}

export const SANDBOX_INSTRUMENTS: ProcessorInstruments = {
  answerLost: async () => '4000000000000408',
  nothingRecorded: async () => '4000000000000416',
  insufficientFundsAccount: '000111111113',
  noAccountAccount: '000111111116',
  lateReturnAccount: '000222222227',
  lateReturn: async () => {}, // the account returns by itself after settlement
  async recorded(platform, ref) {
    const rows = await ownerQuery<{ amount: string; captured_amount: string; refunded_amount: string }>(
      platform, 'SELECT amount, captured_amount, refunded_amount FROM sandbox_processor.authorizations WHERE id = $1', [ref]);
    assert.equal(rows.length, 1, `the sandbox has authorization ${ref}`);
    return { amount: Number(rows[0]!.amount), captured: Number(rows[0]!.captured_amount), refunded: Number(rows[0]!.refunded_amount) };
  },
};

export const STRIPE_INSTRUMENTS: ProcessorInstruments = {
  async answerLost(platform) {
    await sandboxControl(platform, { fail_next: { count: 1, mode: 'lost_answer', path_prefix: '/v1/payment_intents' } });
    return '4242424242424242';
  },
  async nothingRecorded(platform) {
    await sandboxControl(platform, { fail_next: { count: 1, mode: 'lost_before', path_prefix: '/v1/payment_intents' } });
    return '4242424242424242';
  },
  insufficientFundsAccount: '000222222227',
  noAccountAccount: '000111111116',
  lateReturnAccount: '000123456789',
  async lateReturn(platform, payment) {
    const res = await fetch(`${platform.sandboxUrl}/v1/test_helpers/local/payment_intents/${payment.processorReference}/dispute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.config.stripeSecretKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'reason=debit_not_authorized',
    });
    assert.equal(res.status, 200, await res.text());
  },
  async recorded(platform, ref) {
    const pis = await ownerQuery<{ data: { amount: number; amount_received: number; latest_charge: string | null } }>(
      platform, "SELECT data FROM stripe_local.objects WHERE type = 'payment_intent' AND id = $1", [ref]);
    assert.equal(pis.length, 1, `Stripe has PaymentIntent ${ref}`);
    const refunds = await ownerQuery<{ amount: string }>(
      platform, "SELECT coalesce(sum((data->>'amount')::bigint), 0) AS amount FROM stripe_local.objects WHERE type = 'refund' AND data->>'payment_intent' = $1 AND data->>'status' IN ('succeeded', 'pending')", [ref]);
    const pi = pis[0]!.data;
    return { amount: pi.amount, captured: pi.amount_received, refunded: Number(refunds[0]!.amount) };
  },
};

export function processorBehaviourSuite(processor: ProcessorName, instruments: ProcessorInstruments): void {
  describe(`${processor}: the shared processor behaviour`, () => {
    let platform: TestPlatform;
    let tenant: TestTenant;
    const created: string[] = [];

    before(async () => {
      // Ordinary answers must not time out on a busy machine (the suite asserts them synchronously), so the processor
      // timeout is 4 s instead of the harness's 1 s, and the sandbox's lost answers are held longer still.
      platform = await startTestPlatform({ processor, worker: true, env: { PROCESSOR_TIMEOUT_MS: '4000', SANDBOX_LOST_RESPONSE_DELAY_MS: '8000' } });
      tenant = await createTenant(platform);
    });
    after(async () => {
      await platform?.close();
    });

    async function pay(number: string, extra: Record<string, unknown> = {}): Promise<any> {
      const res = await post(platform, tenant.token, '/v1/payments', cardBody(number, extra));
      assert.ok([201, 202].includes(res.status), res.text);
      created.push(res.body.id);
      return res.body;
    }

    /** The processor's id of the payment: the reference of its succeeded authorization or debit attempt. */
    async function referenceOf(id: string): Promise<{ payment: any; reference: string }> {
      const res = await platform.request('GET', `/v1/payments/${id}?expand=attempts`, { token: tenant.token });
      assert.equal(res.status, 200, res.text);
      const attempt = (res.body.attempts as Array<{ operation: string; status: string; processor_reference: string | null }>)
        .find((a) => (a.operation === 'authorize' || a.operation === 'bank_debit') && a.status === 'succeeded');
      assert.ok(attempt?.processor_reference, `payment ${id} has a processor reference`);
      return { payment: res.body, reference: attempt.processor_reference };
    }

    async function expectMoneyMatches(id: { id: string }): Promise<void> {
      const { payment, reference } = await referenceOf(id.id);
      const recorded = await instruments.recorded(platform, reference);
      assert.equal(recorded.amount, payment.amount, 'authorized amount');
      assert.equal(recorded.captured, payment.amount_captured, 'captured amount');
      assert.equal(recorded.refunded, payment.amount_refunded, 'refunded amount');
    }

    const declines: Array<[string, string]> = [
      ['4000000000000002', 'card_declined'],
      ['4000000000009995', 'insufficient_funds'],
      ['4000000000000069', 'expired_card'],
      ['4000000000000127', 'incorrect_cvc'],
      ['4000000000000119', 'processing_error'],
    ];
    for (const [card, failureCode] of declines) {
      it(`card ${card} fails with ${failureCode}`, async () => {
        const payment = await pay(card);
        assert.equal(payment.status, 'failed');
        assert.equal(payment.failure_code, failureCode);
      });
    }

    it('an automatic capture succeeds for each brand, and the processor captured what NimbusPay says', async () => {
      for (const [card, brand] of [['4242424242424242', 'visa'], ['5555555555554444', 'mastercard'], ['378282246310005', 'amex']] as const) {
        const payment = await pay(card);
        assert.equal(payment.status, 'succeeded', `${card}: ${JSON.stringify(payment)}`);
        assert.equal(payment.payment_method.card.brand, brand);
        assert.equal(payment.amount_captured, 2000);
        await expectMoneyMatches(payment);
      }
    });

    it('a manual capture of part of the authorization, then two partial refunds', async () => {
      const held = await pay('4242424242424242', { capture_method: 'manual' });
      assert.equal(held.status, 'requires_capture');
      const captured = await post(platform, tenant.token, `/v1/payments/${held.id}/capture`, { amount: 1500 });
      assert.equal(captured.status, 200, captured.text);
      assert.equal(captured.body.status, 'succeeded');
      assert.equal(captured.body.amount_captured, 1500);
      for (const amount of [500, 700]) {
        const refund = await post(platform, tenant.token, `/v1/payments/${held.id}/refunds`, { amount });
        assert.equal(refund.status, 201, refund.text);
        assert.equal(refund.body.status, 'succeeded');
      }
      const over = await post(platform, tenant.token, `/v1/payments/${held.id}/refunds`, { amount: 400 });
      assert.ok(over.status >= 400 && over.status < 500, `refunding above the captured amount is refused: ${over.text}`);
      const payment = await waitForPaymentStatus(platform, tenant.token, held.id, 'succeeded');
      assert.equal(payment.amount_refunded, 1200);
      await expectMoneyMatches(payment);
    });

    it('a void cancels a held authorization', async () => {
      const held = await pay('4242424242424242', { capture_method: 'manual' });
      const voided = await post(platform, tenant.token, `/v1/payments/${held.id}/cancel`, {});
      assert.equal(voided.status, 200, voided.text);
      assert.equal(voided.body.status, 'canceled');
    });

    it('an answer lost after the processor acted: processing, then reconciled to succeeded, charged once', async () => {
      const payment = await pay(await instruments.answerLost(platform));
      assert.equal(payment.status, 'processing');
      const done = await waitForPaymentStatus(platform, tenant.token, payment.id, 'succeeded', 60_000);
      assert.equal(done.amount_captured, 2000);
      await expectMoneyMatches(done);
    });

    it('a request the processor never recorded: processing, then failed processor_timeout', async () => {
      const payment = await pay(await instruments.nothingRecorded(platform));
      assert.equal(payment.status, 'processing');
      // "not recorded" is believed only once no request can still be in flight (3 × 4 s + backoff + 1 s)
      const done = await waitForPaymentStatus(platform, tenant.token, payment.id, 'failed', 60_000);
      assert.equal(done.failure_code, 'processor_timeout');
    });

    async function transfer(account: string): Promise<any> {
      const res = await post(platform, tenant.token, '/v1/payments', bankBody(account));
      assert.equal(res.status, 201, res.text);
      created.push(res.body.id);
      return res.body;
    }

    it('bank transfers: settled, returned early for insufficient funds and for no account', async () => {
      const settles = await transfer('000123456789');
      const r01 = await transfer(instruments.insufficientFundsAccount);
      const r03 = await transfer(instruments.noAccountAccount);
      const settled = await waitForTransfer(platform, tenant.token, settles.id, { status: 'succeeded', rail: 'settled' }, 30_000);
      assert.equal(settled.amount_captured, 10_000);
      const failed = await waitForTransfer(platform, tenant.token, r01.id, { status: 'failed' }, 30_000);
      assert.equal(failed.failure_code, 'insufficient_funds');
      assert.equal(failed.bank_transfer.return_code, 'R01');
      const noAccount = await waitForTransfer(platform, tenant.token, r03.id, { status: 'failed' }, 30_000);
      assert.equal(noAccount.failure_code, 'no_account');
      assert.equal(noAccount.bank_transfer.return_code, 'R03');
    });

    it('a settled transfer refunded in part, and one returned late (reversed)', async () => {
      const refunded = await transfer('000123456789');
      await waitForTransfer(platform, tenant.token, refunded.id, { status: 'succeeded', rail: 'settled' }, 30_000);
      const credit = await post(platform, tenant.token, `/v1/payments/${refunded.id}/refunds`, { amount: 2_500 });
      assert.equal(credit.status, 201, credit.text);
      assert.equal(credit.body.status, 'succeeded');

      const late = await transfer(instruments.lateReturnAccount);
      // The sandbox's late-return account returns by itself 200 ms after settling, so a busy machine may first see
      // the transfer already reversed; `reversed` is reachable only from a settled `succeeded` (the state machine).
      await eventually(async () => {
        const res = await platform.request('GET', `/v1/payments/${late.id}`, { token: tenant.token });
        const settledOrPast = (res.body.status === 'succeeded' && res.body.bank_transfer?.rail_status === 'settled') || res.body.status === 'reversed';
        return settledOrPast ? res.body : undefined;
      }, { timeoutMs: 30_000 });
      await instruments.lateReturn(platform, { id: late.id, processorReference: (await referenceOf(late.id)).reference });
      const reversed = await waitForTransfer(platform, tenant.token, late.id, { status: 'reversed' }, 30_000);
      assert.equal(reversed.bank_transfer.return_code, 'R10');
      assert.equal(reversed.amount_reversed, 10_000);
    });

    it('money invariants: nothing left processing, no processor object shared by two payments', async () => {
      await eventually(async () => {
        const rows = await ownerQuery<{ n: number }>(platform, "SELECT count(*)::int AS n FROM payments WHERE status = 'processing'");
        return rows[0]!.n === 0 ? true : undefined;
      }, { timeoutMs: 60_000 });
      const shared = await ownerQuery(platform, 'SELECT processor_reference FROM payments WHERE processor_reference IS NOT NULL GROUP BY 1 HAVING count(*) > 1');
      assert.deepEqual(shared, []);
      const broken = await ownerQuery(platform, 'SELECT id FROM payments WHERE amount_refunded > amount_captured OR amount_captured > amount');
      assert.deepEqual(broken, []);
      assert.ok(created.length >= 15);
    });
  });
}
