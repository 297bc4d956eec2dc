import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import Stripe from 'stripe';
import { createTestDatabase, type TestDatabase } from '../../../../test/helpers/database.js';

import { TEST_ROUTING_NUMBER } from '../../../stripe-local/index.js';
import { startLocalStripe, TEST_SECRET_KEY, type LocalStripe } from '../../../stripe-local/stripe-local.test-kit.js';
import type { AuthorizeOutcome, BankDebitSnapshot, ProcessorAdapter, ProcessorCallReport } from '../processor-port.js';
import { createStripeProcessorAdapter } from './stripe-processor-adapter.js';
import { eventually } from '../../../../test/helpers/eventually.js';
import { sandboxControl } from '../../../../test/helpers/sandbox-control.js';

/**
 * The Stripe adapter through the official SDK against the local Stripe server over loopback HTTP: the exact
 * requests it sends (read back from the server's request log), and the outcome of each Stripe test instrument.
 * Faults, lookups and the circuit breaker are in stripe-processor-adapter-faults.test.ts.
 */

/** More than a busy machine ever needs: a slow but ordinary answer must not become an unknown (no timeouts here). */
const TIMEOUT_MS = 10_000;
const SETTLEMENT_MS = 300;
const FUTURE_YEAR = new Date().getUTCFullYear() + 3;
const FORM = 'application/x-www-form-urlencoded';

let db: TestDatabase;
let local: LocalStripe;
let adapter: ProcessorAdapter;
const reports: ProcessorCallReport[] = [];

before(async () => {
  db = await createTestDatabase();
  local = await startLocalStripe({ databaseUrl: db.ownerUrl, settlementDelayMs: SETTLEMENT_MS });
  adapter = createStripeProcessorAdapter({
    secretKey: TEST_SECRET_KEY,
    apiBase: local.baseUrl,
    timeoutMs: TIMEOUT_MS,
    maxRetries: 2,
    retryBaseDelayMs: 10,
    searchConsistencyMs: 60_000,
    logger: pino({ level: 'silent' }),
    onCall: (report) => reports.push(report),
  });
});

after(async () => {
  await adapter?.close();
  await local?.close();
  await db?.drop();
});

const attempt = (label: string) => `att_${label}_${randomUUID()}`;
const card = (number: string, cvc = number.startsWith('37') ? '1234' : '123') => ({ number, expMonth: 12, expYear: FUTURE_YEAR, cvc });
const account = (accountNumber: string) => ({ accountNumber, routingNumber: TEST_ROUTING_NUMBER, accountType: 'checking' as const, holderName: 'Ada Lovelace' });

function authorize(number: string, options: { key?: string; capture?: boolean; amountMinor?: bigint } = {}): Promise<AuthorizeOutcome> {
  return adapter.authorize({
    idempotencyKey: options.key ?? attempt('auth'),
    amountMinor: options.amountMinor ?? 2_000n,
    currency: 'USD',
    card: card(number),
    capture: options.capture ?? false,
  });
}

async function approvedAuthorization(number = '4242424242424242', capture = false): Promise<string> {
  return expectKind(await authorize(number, { capture }), 'approved').processorReference;
}

async function debitStatus(reference: string, status: BankDebitSnapshot['status']): Promise<BankDebitSnapshot> {
  return eventually(async () => {
    const found = await adapter.getBankDebit(reference);
    return found.kind === 'found' && found.debit.status === status ? found.debit : undefined;
  }, { timeoutMs: 15_000 });
}

async function settledDebit(amountMinor = 10_000n): Promise<string> {
  const outcome = expectKind(await adapter.createBankDebit({ idempotencyKey: attempt('debit'), amountMinor, currency: 'USD', account: account('000123456789') }), 'approved');
  await debitStatus(outcome.processorReference, 'settled');
  return outcome.processorReference;
}

type Logged = Record<string, any>;

const show = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

function expectKind<T extends { kind: string }, K extends T['kind']>(outcome: T, kind: K): Extract<T, { kind: K }> {
  assert.equal(outcome.kind, kind, show(outcome));
  return outcome as Extract<T, { kind: K }>;
}

/** Every string anywhere in a logged request, to prove no full card number or CVC was kept. */
function strings(value: unknown, out: Array<[string, string]> = [], key = ''): Array<[string, string]> {
  if (typeof value === 'string') out.push([key, value]);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) strings(v, out, k);
  return out;
}

describe('contract: the requests the adapter sends', () => {
  it('card authorize, capture, void, refund and their lookups are exactly the documented Stripe calls', async () => {
    await sandboxControl(local.baseUrl, { clear_requests: true });
    const reportsBefore = reports.length;
    const key = attempt('contract');
    const authorized = expectKind(await authorize('4242424242424242', { key, amountMinor: 2_000n }), 'approved');
    const pi = authorized.processorReference;
    assert.equal((await adapter.capture({ idempotencyKey: `${key}:capture`, authorizationReference: pi, amountMinor: 1_500n })).kind, 'approved');
    const refundKey = `${key}:refund`;
    assert.equal((await adapter.refund({ idempotencyKey: refundKey, authorizationReference: pi, amountMinor: 500n })).kind, 'approved');
    const other = await approvedAuthorization();
    const voidKey = attempt('void');
    assert.equal((await adapter.voidAuthorization({ idempotencyKey: voidKey, authorizationReference: other })).kind, 'approved');
    const createdAt = new Date();
    assert.equal((await adapter.getOperationStatus({ idempotencyKey: key, operation: 'authorize', createdAt })).kind, 'found');
    assert.equal((await adapter.getOperationStatus({ idempotencyKey: `${key}:capture`, operation: 'capture', createdAt, targetReference: pi })).kind, 'found');
    assert.equal((await adapter.getOperationStatus({ idempotencyKey: refundKey, operation: 'refund', createdAt, targetReference: pi })).kind, 'found');

    assert.deepEqual(reports.slice(reportsBefore).map((r) => `${r.operation}:${r.outcome}:${r.attempts}`), [
      'authorize:approved:1', 'capture:approved:1', 'refund:approved:1', 'authorize:approved:1', 'void:approved:1',
      'get_operation_status:found:1', 'get_operation_status:found:1', 'get_operation_status:found:1',
    ]);
    const log = await local.requests();
    assert.deepEqual(log.map((r) => `${r.method} ${r.path}`), [
      'POST /v1/payment_methods',
      'POST /v1/payment_intents',
      `POST /v1/payment_intents/${pi}/capture`,
      'POST /v1/refunds',
      'POST /v1/payment_methods',
      'POST /v1/payment_intents',
      `POST /v1/payment_intents/${other}/cancel`,
      'GET /v1/payment_intents/search',
      `GET /v1/payment_intents/${pi}`,
      'GET /v1/refunds',
    ]);
    const [pm, create, capture, refund, cancel, search, retrieve, refunds] = [0, 1, 2, 3, 6, 7, 8, 9].map((i) => log[i]!) as [Logged, Logged, Logged, Logged, Logged, Logged, Logged, Logged];
    for (const r of log) assert.equal(r.headers['stripe-version'], Stripe.API_VERSION, `${r.method} ${r.path}`);
    for (const r of log.filter((e) => e.method === 'POST')) assert.equal(r.headers['content-type'], FORM);
    assert.equal(pm.headers['idempotency-key'], `${key}:pm`);
    assert.deepEqual(pm.params, { type: 'card', card: { number: '************4242', exp_month: '12', exp_year: String(FUTURE_YEAR), cvc: '***' } });
    assert.equal(create.headers['idempotency-key'], key);
    assert.match(create.params.payment_method, /^pm_/);
    assert.deepEqual({ ...create.params, payment_method: 'pm' }, {
      amount: '2000',
      currency: 'usd',
      payment_method: 'pm',
      allowed_payment_method_types: ['card'],
      capture_method: 'manual',
      confirm: 'true',
      error_on_requires_action: 'true',
      metadata: { nimbuspay_attempt_id: key, nimbuspay_operation: 'authorize' },
      expand: ['payment_method'],
    });
    assert.equal(capture.headers['idempotency-key'], `${key}:capture`);
    assert.deepEqual(capture.params, { amount_to_capture: '1500' });
    assert.equal(refund.headers['idempotency-key'], refundKey);
    assert.deepEqual(refund.params, { payment_intent: pi, amount: '500', metadata: { nimbuspay_attempt_id: refundKey, nimbuspay_operation: 'refund' } });
    assert.equal(cancel.headers['idempotency-key'], voidKey);
    assert.deepEqual(cancel.params, {});
    assert.deepEqual(search.params, { query: `metadata['nimbuspay_attempt_id']:'${key}'`, expand: ['data.payment_method', 'data.latest_charge'] });
    assert.deepEqual(retrieve.params, {});
    assert.equal(refunds.params.payment_intent, pi);
    for (const r of [search, retrieve, refunds]) assert.equal(r.headers['idempotency-key'], null);
  });

  it('an ACH debit, its status and a credit are a us_bank_account PaymentIntent, a retrieve and a Refund', async () => {
    await sandboxControl(local.baseUrl, { clear_requests: true });
    const key = attempt('ach');
    const debit = expectKind(await adapter.createBankDebit({ idempotencyKey: key, amountMinor: 10_000n, currency: 'USD', account: account('000123456789') }), 'approved');
    const pi = debit.processorReference;
    await debitStatus(pi, 'settled');
    const creditKey = `${key}:credit`;
    assert.equal((await adapter.createBankCredit({ idempotencyKey: creditKey, debitReference: pi, amountMinor: 4_000n })).kind, 'approved');

    const log = await local.requests();
    const create = log[0]!;
    assert.equal(`${create.method} ${create.path}`, 'POST /v1/payment_intents');
    assert.equal(create.headers['idempotency-key'], key);
    assert.deepEqual(create.params, {
      amount: '10000',
      currency: 'usd',
      allowed_payment_method_types: ['us_bank_account'],
      payment_method_data: {
        type: 'us_bank_account',
        us_bank_account: { account_number: '********6789', routing_number: TEST_ROUTING_NUMBER, account_type: 'checking' },
        billing_details: { name: 'Ada Lovelace' },
      },
      mandate_data: { customer_acceptance: { type: 'offline' } },
      confirm: 'true',
      metadata: { nimbuspay_attempt_id: key, nimbuspay_operation: 'bank_debit' },
      expand: ['payment_method'],
    });
    const polls = log.slice(1, -1);
    assert.ok(polls.length >= 1);
    for (const r of polls) {
      assert.equal(`${r.method} ${r.path}`, `GET /v1/payment_intents/${pi}`);
      assert.deepEqual(r.params, { expand: ['payment_method', 'latest_charge'] });
    }
    const credit = log.at(-1)!;
    assert.equal(`${credit.method} ${credit.path}`, 'POST /v1/refunds');
    assert.equal(credit.headers['idempotency-key'], creditKey);
    assert.deepEqual(credit.params, { payment_intent: pi, amount: '4000', metadata: { nimbuspay_attempt_id: creditKey, nimbuspay_operation: 'bank_credit' } });
    for (const r of log) assert.equal(r.headers['stripe-version'], Stripe.API_VERSION);
  });
});

describe('card outcomes per Stripe test card', () => {
  it('approves Visa, Mastercard and Amex with brand, last4 and the authorized / captured amounts', async () => {
    const manual = expectKind(await authorize('4242424242424242', { amountMinor: 2_500n }), 'approved');
    assert.match(manual.processorReference, /^pi_/);
    assert.deepEqual({ ...manual, processorReference: 'pi' }, {
      kind: 'approved', processorReference: 'pi', authorizedAmountMinor: 2_500n, capturedAmountMinor: 0n, currency: 'USD', card: { brand: 'visa', last4: '4242' },
    });
    const automatic = expectKind(await authorize('4242424242424242', { capture: true, amountMinor: 2_500n }), 'approved');
    assert.deepEqual([automatic.authorizedAmountMinor, automatic.capturedAmountMinor], [2_500n, 2_500n]);
    assert.deepEqual(expectKind(await authorize('5555555555554444'), 'approved').card, { brand: 'mastercard', last4: '4444' });
    assert.deepEqual(expectKind(await authorize('378282246310005', { capture: true }), 'approved').card, { brand: 'amex', last4: '0005' });
  });

  for (const [number, code, processorCode] of [
    ['4000000000000002', 'card_declined', 'generic_decline'],
    ['4000000000009995', 'insufficient_funds', 'insufficient_funds'],
    ['4000000000000069', 'expired_card', 'expired_card'],
    ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc'],
  ] as const) {
    it(`declines ${number} as ${code}`, async () => {
      const outcome = expectKind(await authorize(number), 'declined');
      assert.equal(outcome.code, code);
      assert.equal(outcome.processorCode, processorCode);
      assert.match(outcome.processorReference ?? '', /^pi_/);
    });
  }

  it('4000000000000119 is a processing_error: an error that was sent and may be retried, not a decline', async () => {
    const outcome = expectKind(await authorize('4000000000000119'), 'error');
    assert.deepEqual({ code: outcome.code, retryable: outcome.retryable, sent: outcome.sent, processorCode: outcome.processorCode, httpStatus: outcome.httpStatus }, {
      code: 'processing_error', retryable: true, sent: true, processorCode: 'processing_error', httpStatus: 402,
    });
  });

  it('captures part of an authorization, voids another, and refunds twice but never beyond the captured amount', async () => {
    const pi = await approvedAuthorization();
    const captured = await adapter.capture({ idempotencyKey: attempt('capture'), authorizationReference: pi, amountMinor: 1_200n });
    assert.deepEqual(captured, { kind: 'approved', processorReference: pi, capturedAmountMinor: 1_200n, authorizedAmountMinor: 2_000n, currency: 'USD' });
    const first = expectKind(await adapter.refund({ idempotencyKey: attempt('refund'), authorizationReference: pi, amountMinor: 500n }), 'approved');
    assert.match(first.processorReference, /^re_/);
    assert.deepEqual({ ...first, processorReference: 're' }, { kind: 'approved', processorReference: 're', authorizationReference: pi, amountMinor: 500n, currency: 'USD' });
    const second = await adapter.refund({ idempotencyKey: attempt('refund'), authorizationReference: pi, amountMinor: 600n });
    assert.equal(second.kind, 'approved');
    const over = expectKind(await adapter.refund({ idempotencyKey: attempt('refund'), authorizationReference: pi, amountMinor: 200n }), 'error');
    assert.deepEqual({ code: over.code, retryable: over.retryable, sent: over.sent, processorCode: over.processorCode }, {
      code: 'processing_error', retryable: false, sent: true, processorCode: 'amount_too_large',
    });

    const other = await approvedAuthorization();
    assert.deepEqual(await adapter.voidAuthorization({ idempotencyKey: attempt('void'), authorizationReference: other }), { kind: 'approved', processorReference: other });
    const late = expectKind(await adapter.capture({ idempotencyKey: attempt('capture'), authorizationReference: other, amountMinor: 100n }), 'error');
    assert.equal(late.processorCode, 'payment_intent_unexpected_state');
  });
});

describe('ACH outcomes per Stripe test account', () => {
  it('000123456789 is submitted, then settles', async () => {
    const key = attempt('debit');
    const outcome = expectKind(await adapter.createBankDebit({ idempotencyKey: key, amountMinor: 10_000n, currency: 'USD', account: account('000123456789') }), 'approved');
    assert.equal(outcome.debit.status, 'submitted');
    assert.deepEqual({ key: outcome.debit.idempotencyKey, amount: outcome.debit.amountMinor, currency: outcome.debit.currency, last4: outcome.debit.accountLast4 }, {
      key, amount: 10_000n, currency: 'USD', last4: '6789',
    });
    const settled = await debitStatus(outcome.processorReference, 'settled');
    assert.ok(settled.settledAt instanceof Date);
    assert.equal(settled.returnedAt, undefined);
    assert.equal(settled.idempotencyKey, key);
  });

  for (const [number, returnCode] of [['000222222227', 'R01'], ['000111111113', 'R02'], ['000111111116', 'R03']] as const) {
    it(`${number} is returned before settlement with ${returnCode}`, async () => {
      const outcome = expectKind(await adapter.createBankDebit({ idempotencyKey: attempt('debit'), amountMinor: 10_000n, currency: 'USD', account: account(number) }), 'approved');
      assert.equal(outcome.debit.status, 'submitted');
      const returned = await debitStatus(outcome.processorReference, 'returned');
      assert.equal(returned.returnCode, returnCode);
      assert.equal(returned.settledAt, undefined);
      assert.ok(returned.returnedAt instanceof Date);
      assert.equal(returned.accountLast4, number.slice(-4));
    });
  }

  it('a dispute of a settled debit is a late return (R10), and a credit of a settled debit is approved', async () => {
    const disputed = await settledDebit();
    const res = await fetch(`${local.baseUrl}/v1/test_helpers/local/payment_intents/${disputed}/dispute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_SECRET_KEY}`, 'content-type': FORM },
      body: '',
    });
    assert.equal(res.status, 200, await res.clone().text());
    const returned = await debitStatus(disputed, 'returned');
    assert.equal(returned.returnCode, 'R10');
    assert.ok(returned.settledAt instanceof Date && returned.returnedAt instanceof Date);

    const refunded = await settledDebit();
    const credit = expectKind(await adapter.createBankCredit({ idempotencyKey: attempt('credit'), debitReference: refunded, amountMinor: 10_000n }), 'approved');
    assert.deepEqual({ ...credit, processorReference: 're' }, { kind: 'approved', processorReference: 're', debitReference: refunded, amountMinor: 10_000n, currency: 'USD' });
  });
});

describe('idempotency', () => {
  it('authorizing twice with one attempt key makes one PaymentIntent; other arguments under that key are refused', async () => {
    const key = attempt('twice');
    const first = expectKind(await authorize('4242424242424242', { key }), 'approved');
    const again = expectKind(await authorize('4242424242424242', { key }), 'approved');
    assert.equal(again.processorReference, first.processorReference);
    const found = await local.stripe.paymentIntents.search({ query: `metadata['nimbuspay_attempt_id']:'${key}'` });
    assert.deepEqual(found.data.map((pi) => pi.id), [first.processorReference]);
    const creates = (await local.requests()).filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents' && r.headers['idempotency-key'] === key);
    assert.equal(creates.length, 2);

    const reused = expectKind(await authorize('4242424242424242', { key, amountMinor: 3_000n }), 'error');
    assert.equal(reused.processorCode, 'idempotency_key_reused');
    assert.equal(reused.retryable, false);
  });
});

describe('the request log', () => {
  it('never holds a full card or account number, nor a CVC', async () => {
    const log = await local.requests();
    assert.ok(log.some((r) => r.path === '/v1/payment_methods'));
    const secrets = ['4242424242424242', '5555555555554444', '378282246310005', '4000000000000002', '4000000000009995', '000123456789', '000222222227'];
    for (const [field, value] of log.flatMap((r) => strings(r))) {
      for (const secret of secrets) assert.ok(!value.includes(secret), `${field} holds ${secret}`);
      if (field === 'cvc') assert.match(value, /^\*+$/);
      if (field === 'number' || field === 'account_number') assert.match(value, /^\*+\d{4}$/);
    }
  });
});
