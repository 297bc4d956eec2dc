import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Stripe from 'stripe';
import { achReturnFor, declineCodeFor } from './stripe-codes.js';
import { authorizeDecisionOf, bankDebitSnapshotOf, classifyStripeError, refundDecisionOf, type PaymentIntent, type Refund } from './stripe-outcome-mapper.js';
import { newsOfStripeEvent } from './stripe-notifications.js';

/** Stripe's answers and errors → port outcomes (the adapter's wire behaviour is covered against the local server). */

function intent(fields: Partial<PaymentIntent>): PaymentIntent {
  return {
    id: 'pi_1', object: 'payment_intent', amount: 1000, amount_received: 0, currency: 'usd', status: 'requires_capture',
    created: 1_700_000_000, metadata: {}, payment_method_types: ['card'], last_payment_error: null, latest_charge: null,
    payment_method: { id: 'pm_1', object: 'payment_method', type: 'card', card: { brand: 'visa', last4: '4242' } },
    ...fields,
  } as unknown as PaymentIntent;
}

describe('stripe codes', () => {
  it('maps card_declined by its decline_code, other card errors by their code, and keeps the raw code', () => {
    assert.deepEqual(declineCodeFor('card_declined', 'insufficient_funds'), { code: 'insufficient_funds', processorCode: 'insufficient_funds' });
    assert.deepEqual(declineCodeFor('card_declined', 'generic_decline'), { code: 'card_declined', processorCode: 'generic_decline' });
    assert.deepEqual(declineCodeFor('card_declined', 'do_not_honor'), { code: 'card_declined', processorCode: 'do_not_honor' });
    assert.deepEqual(declineCodeFor('expired_card', undefined), { code: 'expired_card', processorCode: 'expired_card' });
    assert.deepEqual(declineCodeFor('incorrect_cvc', undefined), { code: 'incorrect_cvc', processorCode: 'incorrect_cvc' });
    assert.deepEqual(declineCodeFor('something_new', undefined), { code: 'processor_declined', processorCode: 'something_new' });
  });

  it('maps ACH failure codes onto NACHA returns, and says so when there is none', () => {
    assert.equal(achReturnFor('insufficient_funds').code, 'R01');
    assert.equal(achReturnFor('account_closed').code, 'R02');
    assert.equal(achReturnFor('no_account').code, 'R03');
    assert.equal(achReturnFor('debit_not_authorized').code, 'R10');
    assert.equal(achReturnFor('invalid_currency').code, 'stripe:invalid_currency');
  });
});

describe('stripe outcome mapper', () => {
  it('reads an authorization from the PaymentIntent status', () => {
    const held = authorizeDecisionOf(intent({}), { last4: '0000' });
    assert.deepEqual(held, { kind: 'approved', processorReference: 'pi_1', authorizedAmountMinor: 1000n, capturedAmountMinor: 0n, currency: 'USD', card: { brand: 'visa', last4: '4242' } });
    const captured = authorizeDecisionOf(intent({ status: 'succeeded', amount_received: 1000 }), { last4: '0000' });
    assert.equal(captured?.kind === 'approved' && captured.capturedAmountMinor, 1000n);
    const declined = authorizeDecisionOf(intent({ status: 'requires_payment_method', last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'no' } as PaymentIntent['last_payment_error'] }), { last4: '0000' });
    assert.deepEqual(declined, { kind: 'declined', code: 'insufficient_funds', processorCode: 'insufficient_funds', message: 'no', processorReference: 'pi_1' });
    // A card intent still processing answers nothing yet: undefined, which the adapter turns into "unknown".
    assert.equal(authorizeDecisionOf(intent({ status: 'processing' }), { last4: '0000' }), undefined);
  });

  it('treats a pending refund as approved and a failed one as declined', () => {
    const refund = (status: string) => ({ id: 're_1', object: 'refund', amount: 300, currency: 'usd', payment_intent: 'pi_1', status, failure_reason: status === 'failed' ? 'expired_or_canceled_card' : null, metadata: {} }) as unknown as Refund;
    assert.equal(refundDecisionOf(refund('pending'))?.kind, 'approved');
    assert.equal(refundDecisionOf(refund('succeeded'))?.kind, 'approved');
    assert.deepEqual(refundDecisionOf(refund('failed')), { kind: 'declined', code: 'refund_declined', processorCode: 'expired_or_canceled_card', message: 'The processor could not refund the payment.', processorReference: 're_1' });
  });

  it('reads an ACH debit: processing = submitted, succeeded = settled, disputed = returned late, failed = returned early', () => {
    const at = new Date('2026-01-02T00:00:00Z');
    const ach = (fields: Partial<PaymentIntent>) => intent({ payment_method_types: ['us_bank_account'], payment_method: { id: 'pm_2', type: 'us_bank_account', us_bank_account: { last4: '6789' } } as PaymentIntent['payment_method'], ...fields });
    assert.equal(bankDebitSnapshotOf(ach({ status: 'processing' }), at, 'att_1')?.status, 'submitted');
    const settled = bankDebitSnapshotOf(ach({ status: 'succeeded', amount_received: 1000 }), at, 'att_1');
    assert.equal(settled?.status, 'settled');
    assert.equal(settled?.accountLast4, '6789');
    const late = bankDebitSnapshotOf(ach({ status: 'succeeded', latest_charge: { id: 'ch_1', disputed: true } as PaymentIntent['latest_charge'] }), at, 'att_1');
    assert.deepEqual([late?.status, late?.returnCode, late?.settledAt !== undefined], ['returned', 'R10', true]);
    const early = bankDebitSnapshotOf(ach({ status: 'requires_payment_method', last_payment_error: { code: 'account_closed' } as PaymentIntent['last_payment_error'], latest_charge: { id: 'ch_1', failure_code: 'account_closed' } as PaymentIntent['latest_charge'] }), at, 'att_1');
    assert.deepEqual([early?.status, early?.returnCode, early?.settledAt], ['returned', 'R02', undefined]);
  });

  it('classifies SDK errors by what they prove about the request', () => {
    const E = Stripe.errors;
    const card = classifyStripeError(new E.StripeCardError({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'no', payment_intent: { id: 'pi_9' } } as never));
    assert.deepEqual(card, { kind: 'declined', outcome: { kind: 'declined', code: 'insufficient_funds', processorCode: 'insufficient_funds', message: 'no', processorReference: 'pi_9' } });
    const processing = classifyStripeError(new E.StripeCardError({ type: 'card_error', code: 'processing_error', message: 'x' } as never));
    assert.equal(processing.kind === 'final' && processing.outcome.code === 'processing_error' && processing.outcome.retryable, true);
    assert.equal(classifyStripeError(new E.StripeRateLimitError({ message: 'slow', statusCode: 429 } as never)).kind, 'retry');
    const reused = classifyStripeError(new E.StripeIdempotencyError({ message: 'reused', statusCode: 400 } as never));
    assert.equal(reused.kind === 'final' && reused.outcome.processorCode, 'idempotency_key_reused');
    assert.equal(classifyStripeError(new E.StripeInvalidRequestError({ message: 'x', statusCode: 404, code: 'resource_missing' } as never)).kind, 'missing');
    assert.equal(classifyStripeError(new E.StripeInvalidRequestError({ message: 'x', statusCode: 409, code: 'idempotency_key_in_use' } as never)).kind, 'unknown');
    assert.equal(classifyStripeError(new E.StripeInvalidRequestError({ message: 'x', statusCode: 400, code: 'parameter_unknown' } as never)).kind, 'final');
    assert.equal(classifyStripeError(new E.StripeAPIError({ message: 'boom', statusCode: 500 } as never)).kind, 'unknown');
    const refused = classifyStripeError(new E.StripeConnectionError({ message: 'c', detail: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) } as never));
    assert.equal(refused.kind === 'retry' && refused.outcome.sent, false);
    const timeout = classifyStripeError(new E.StripeConnectionError({ message: 't', detail: Object.assign(new Error('t'), { code: 'ETIMEDOUT' }) } as never));
    assert.equal(timeout.kind === 'unknown' && timeout.outcome.kind === 'unknown' && timeout.outcome.reason, 'timeout');
  });

  it('reads webhook events: ACH intents move debits, card intents are ignored, disputes become late returns', () => {
    const event = (type: string, object: unknown) => ({ id: 'evt_1', object: 'event', type, created: 1_800_000_000, data: { object } }) as unknown as Stripe.Event;
    const achIntent = intent({ status: 'succeeded', payment_method_types: ['us_bank_account'], metadata: { nimbuspay_attempt_id: 'att_7' } });
    const news = newsOfStripeEvent(event('payment_intent.succeeded', achIntent));
    assert.equal(news.kind === 'bank_debit' && news.attemptId, 'att_7');
    assert.equal(news.kind === 'bank_debit' && news.debit.settledAt?.getTime(), 1_800_000_000_000);
    assert.equal(newsOfStripeEvent(event('payment_intent.succeeded', intent({ status: 'succeeded' }))).kind, 'ignored');
    const dispute = newsOfStripeEvent(event('charge.dispute.created', { id: 'dp_1', object: 'dispute', payment_intent: 'pi_5', charge: 'ch_5' }));
    assert.deepEqual(dispute.kind === 'dispute' && [dispute.paymentIntentId, dispute.returnCode], ['pi_5', 'R10']);
    assert.equal(newsOfStripeEvent(event('customer.created', {})).kind, 'ignored');
  });
});
