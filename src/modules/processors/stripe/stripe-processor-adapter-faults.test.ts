import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createTestDatabase, type TestDatabase } from '../../../../test/helpers/database.js';
import { freePort } from '../../../../test/helpers/net.js';

import { TEST_ROUTING_NUMBER } from '../../../stripe-local/index.js';
import { startLocalStripe, TEST_SECRET_KEY, type LocalStripe } from '../../../stripe-local/stripe-local.test-kit.js';
import type { CircuitStateName, OperationLookup, ProcessorAdapter, ProcessorCallReport } from '../processor-port.js';
import { createStripeProcessorAdapter, type StripeProcessorAdapterOptions } from './stripe-processor-adapter.js';
import { eventually } from '../../../../test/helpers/eventually.js';
import { sandboxControl } from '../../../../test/helpers/sandbox-control.js';

/**
 * The Stripe adapter when the wire misbehaves, against the local Stripe server's fault switches: which outcome each
 * fault becomes, that the reconciliation lookups find (or rightly do not find) what happened, the circuit breaker,
 * and a refused connection. The clock of the adapter is injected, so "old enough to believe not found" needs no wait.
 */

/**
 * Ordinary calls get TIMEOUT_MS, more than a busy machine ever needs (a slow but ordinary answer must not become an
 * unknown). The calls a lost answer holds forever go through `impatient`, whose LOST_TIMEOUT_MS is then the only way
 * they can end: still long enough for the requests before the faulted one (the PaymentMethod of an authorization).
 */
const TIMEOUT_MS = 10_000;
const LOST_TIMEOUT_MS = 2_000;
const SEARCH_CONSISTENCY_MS = 30_000;
const FUTURE_YEAR = new Date().getUTCFullYear() + 3;
const PI_CREATE = '/v1/payment_intents';

let db: TestDatabase;
let local: LocalStripe;
let adapter: ProcessorAdapter;
let impatient: ProcessorAdapter;
let clockSkewMs = 0;
const reports: ProcessorCallReport[] = [];
const closeLater: ProcessorAdapter[] = [];

function adapterOptions(overrides: Partial<StripeProcessorAdapterOptions> = {}): StripeProcessorAdapterOptions {
  return {
    secretKey: TEST_SECRET_KEY,
    apiBase: local.baseUrl,
    timeoutMs: TIMEOUT_MS,
    maxRetries: 2,
    retryBaseDelayMs: 10,
    searchConsistencyMs: SEARCH_CONSISTENCY_MS,
    logger: pino({ level: 'silent' }),
    now: () => new Date(Date.now() + clockSkewMs),
    onCall: (report) => reports.push(report),
    // The faults below are consecutive on purpose; this adapter's circuit must stay closed through them.
    circuitBreaker: { consecutiveFailures: 1_000 },
    ...overrides,
  };
}

before(async () => {
  db = await createTestDatabase();
  local = await startLocalStripe({ databaseUrl: db.ownerUrl, settlementDelayMs: 60_000 });
  adapter = createStripeProcessorAdapter(adapterOptions());
  impatient = createStripeProcessorAdapter(adapterOptions({ timeoutMs: LOST_TIMEOUT_MS }));
});

after(async () => {
  for (const extra of [adapter, impatient, ...closeLater]) await extra?.close();
  await local?.close();
  await db?.drop();
});

const attempt = (label: string) => `att_${label}_${randomUUID()}`;
const show = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

function expectKind<T extends { kind: string }, K extends T['kind']>(outcome: T, kind: K): Extract<T, { kind: K }> {
  assert.equal(outcome.kind, kind, show(outcome));
  return outcome as Extract<T, { kind: K }>;
}

function authorize(key: string, via: ProcessorAdapter = adapter, capture = false, number = '4242424242424242') {
  return via.authorize({ idempotencyKey: key, amountMinor: 2_000n, currency: 'USD', card: { number, expMonth: 12, expYear: FUTURE_YEAR, cvc: '123' }, capture });
}

const lastReport = () => reports.at(-1)!;

async function failNext(mode: string, pathPrefix: string, count = 1): Promise<void> {
  await sandboxControl(local.baseUrl, { fail_next: { count, mode, path_prefix: pathPrefix } });
}

/** A held request is released once the adapter gave up on it; the next test starts with none. */
async function noneHeld(): Promise<void> {
  await eventually(async () => ((await sandboxControl(local.baseUrl)).held_requests === 0 ? true : undefined), { timeoutMs: 15_000 });
}

async function intentsOf(key: string): Promise<string[]> {
  const found = await local.stripe.paymentIntents.search({ query: `metadata['nimbuspay_attempt_id']:'${key}'` });
  return found.data.map((pi) => pi.id);
}

async function createsWith(key: string): Promise<number> {
  return (await local.requests()).filter((r) => r.method === 'POST' && r.path === PI_CREATE && r.headers['idempotency-key'] === key).length;
}

async function lookupLater(lookup: OperationLookup, aheadMs: number) {
  clockSkewMs = aheadMs;
  try {
    return await adapter.getOperationStatus(lookup);
  } finally {
    clockSkewMs = 0;
  }
}

describe('faults on the PaymentIntent create', () => {
  it('rate_limit once: retried with the same key and approved', async () => {
    const key = attempt('429');
    await failNext('rate_limit', PI_CREATE);
    const outcome = expectKind(await authorize(key), 'approved');
    assert.ok(lastReport().attempts >= 2, show(lastReport()));
    assert.equal(await createsWith(key), 2);
    assert.deepEqual(await intentsOf(key), [outcome.processorReference]);
  });

  it('rate_limit past the retries: a retryable error that was sent, after 1 + maxRetries attempts', async () => {
    await failNext('rate_limit', PI_CREATE, 3);
    const outcome = expectKind(await authorize(attempt('429x3')), 'error');
    assert.deepEqual([outcome.code, outcome.retryable, outcome.sent, outcome.httpStatus], ['processing_error', true, true, 429]);
    assert.equal(lastReport().attempts, 3);
  });

  it('server_error: unknown (Stripe documents a 500 as indeterminate); the lookup later finds nothing was done', async () => {
    const key = attempt('500');
    const createdAt = new Date();
    await failNext('server_error', PI_CREATE);
    assert.deepEqual(expectKind(await authorize(key), 'unknown').reason, 'server_error');
    assert.equal(lastReport().attempts, 1);
    assert.equal(await createsWith(key), 1);
    assert.deepEqual(await lookupLater({ idempotencyKey: key, operation: 'authorize', createdAt }, SEARCH_CONSISTENCY_MS + 1_000), { kind: 'not_found' });
  });

  it('lost_answer: unknown (timeout), and the lookup finds the approved authorization by its metadata', async () => {
    const key = attempt('lost');
    const createdAt = new Date();
    await failNext('lost_answer', PI_CREATE);
    assert.equal(expectKind(await authorize(key, impatient), 'unknown').reason, 'timeout');
    await noneHeld();
    const [pi] = await intentsOf(key);
    const found = expectKind(await adapter.getOperationStatus({ idempotencyKey: key, operation: 'authorize', createdAt }), 'found');
    assert.deepEqual(found, {
      kind: 'found',
      operation: 'authorize',
      outcome: { kind: 'approved', processorReference: pi, authorizedAmountMinor: 2_000n, capturedAmountMinor: 0n, currency: 'USD', card: { brand: 'visa', last4: '4242' } },
    });
    // Resuming the attempt with its key replays the saved answer: still one PaymentIntent.
    assert.equal(expectKind(await authorize(key), 'approved').processorReference, pi);
    assert.deepEqual(await intentsOf(key), [pi]);
  });

  it('lost_answer of a decline: the lookup finds the decline the answer would have carried', async () => {
    const key = attempt('lostdecline');
    await failNext('lost_answer', PI_CREATE);
    assert.equal(expectKind(await authorize(key, impatient, false, '4000000000009995'), 'unknown').reason, 'timeout');
    await noneHeld();
    const [pi] = await intentsOf(key);
    const found = expectKind(await adapter.getOperationStatus({ idempotencyKey: key, operation: 'authorize', createdAt: new Date() }), 'found');
    assert.deepEqual(found.outcome.kind === 'declined' && { ...found.outcome, message: 'm' }, {
      kind: 'declined', code: 'insufficient_funds', processorCode: 'insufficient_funds', message: 'm', processorReference: pi,
    });
  });

  it('lost_before (nothing executed): unknown; the lookup is not_yet_consistent while young, not_found once old', async () => {
    const key = attempt('before');
    const createdAt = new Date();
    await failNext('lost_before', PI_CREATE);
    assert.equal(expectKind(await authorize(key, impatient), 'unknown').reason, 'timeout');
    await noneHeld();
    const lookup: OperationLookup = { idempotencyKey: key, operation: 'authorize', createdAt };
    const young = expectKind(await adapter.getOperationStatus(lookup), 'unavailable');
    assert.deepEqual([young.reason, young.sent], ['not_yet_consistent', true]);
    assert.deepEqual(await lookupLater(lookup, SEARCH_CONSISTENCY_MS + 1_000), { kind: 'not_found' });
    assert.deepEqual(await intentsOf(key), []);
  });

  it('connection_reset: the SDK resends once with the same key; never a second PaymentIntent', async () => {
    const key = attempt('reset');
    await failNext('connection_reset', PI_CREATE);
    const outcome = await authorize(key);
    assert.ok(outcome.kind === 'approved' || outcome.kind === 'unknown', show(outcome));
    assert.equal(await createsWith(key), 2);
    const intents = await intentsOf(key);
    assert.equal(intents.length, 1);
    if (outcome.kind === 'approved') assert.equal(outcome.processorReference, intents[0]);
  });

  it('search lag: a just-created PaymentIntent is not_yet_consistent, then found', async () => {
    const key = attempt('lag');
    const createdAt = new Date();
    const approved = expectKind(await authorize(key), 'approved');
    // Far longer than the two requests below take even on a busy machine.
    await sandboxControl(local.baseUrl, { search_lag_ms: 2_500 });
    try {
      const young = expectKind(await adapter.getOperationStatus({ idempotencyKey: key, operation: 'authorize', createdAt }), 'unavailable');
      assert.equal(young.reason, 'not_yet_consistent');
      const found = await eventually(async () => {
        const status = await adapter.getOperationStatus({ idempotencyKey: key, operation: 'authorize', createdAt });
        return status.kind === 'found' ? status : undefined;
      }, { timeoutMs: 15_000 });
      assert.equal(found.operation === 'authorize' && found.outcome.kind === 'approved' && found.outcome.processorReference, approved.processorReference);
    } finally {
      await sandboxControl(local.baseUrl, { search_lag_ms: 0 });
    }
  });

  it('a bank debit whose answer was lost is found by the lookup, submitted', async () => {
    const key = attempt('ach');
    await failNext('lost_answer', PI_CREATE);
    const outcome = await impatient.createBankDebit({
      idempotencyKey: key, amountMinor: 10_000n, currency: 'USD',
      account: { accountNumber: '000123456789', routingNumber: TEST_ROUTING_NUMBER, accountType: 'checking', holderName: 'Ada Lovelace' },
    });
    assert.equal(expectKind(outcome, 'unknown').reason, 'timeout');
    await noneHeld();
    const found = expectKind(await adapter.getOperationStatus({ idempotencyKey: key, operation: 'bank_debit', createdAt: new Date() }), 'found');
    assert.equal(found.operation, 'bank_debit');
    const debit = found.outcome.kind === 'approved' && 'debit' in found.outcome ? found.outcome.debit : undefined;
    assert.deepEqual([debit?.status, debit?.idempotencyKey, debit?.amountMinor, debit?.accountLast4], ['submitted', key, 10_000n, '6789']);
  });
});

describe('lookups of capture, void and refund', () => {
  it('a capture whose answer was lost is found from the PaymentIntent; a retry with its key replays it', async () => {
    const pi = expectKind(await authorize(attempt('cap')), 'approved').processorReference;
    const captureKey = attempt('capture');
    await failNext('lost_answer', `/v1/payment_intents/${pi}/capture`);
    const request = { idempotencyKey: captureKey, authorizationReference: pi, amountMinor: 1_500n };
    assert.equal(expectKind(await impatient.capture(request), 'unknown').reason, 'timeout');
    await noneHeld();
    const found = await adapter.getOperationStatus({ idempotencyKey: captureKey, operation: 'capture', createdAt: new Date(), targetReference: pi });
    assert.deepEqual(found, {
      kind: 'found',
      operation: 'capture',
      outcome: { kind: 'approved', processorReference: pi, capturedAmountMinor: 1_500n, authorizedAmountMinor: 2_000n, currency: 'USD' },
    });
    assert.equal(expectKind(await adapter.capture(request), 'approved').capturedAmountMinor, 1_500n);
  });

  it('a void lookup on an uncaptured authorization is not_found; after the void it is found', async () => {
    const pi = expectKind(await authorize(attempt('void')), 'approved').processorReference;
    const voidKey = attempt('void');
    const lookup: OperationLookup = { idempotencyKey: voidKey, operation: 'void', createdAt: new Date(), targetReference: pi };
    assert.deepEqual(await adapter.getOperationStatus(lookup), { kind: 'not_found' });
    assert.deepEqual(await adapter.getOperationStatus({ ...lookup, operation: 'capture' }), { kind: 'not_found' });
    expectKind(await adapter.voidAuthorization({ idempotencyKey: voidKey, authorizationReference: pi }), 'approved');
    assert.deepEqual(await adapter.getOperationStatus(lookup), { kind: 'found', operation: 'void', outcome: { kind: 'approved', processorReference: pi } });
  });

  it('a refund whose answer was lost is found in the refund list by its metadata; another key is not_found', async () => {
    const pi = expectKind(await authorize(attempt('rf'), adapter, true), 'approved').processorReference;
    expectKind(await adapter.refund({ idempotencyKey: attempt('refund'), authorizationReference: pi, amountMinor: 300n }), 'approved');
    const refundKey = attempt('refund');
    await failNext('lost_answer', '/v1/refunds');
    assert.equal(expectKind(await impatient.refund({ idempotencyKey: refundKey, authorizationReference: pi, amountMinor: 700n }), 'unknown').reason, 'timeout');
    await noneHeld();
    const found = expectKind(await adapter.getOperationStatus({ idempotencyKey: refundKey, operation: 'refund', createdAt: new Date(), targetReference: pi }), 'found');
    assert.equal(found.operation, 'refund');
    assert.deepEqual(found.outcome.kind === 'approved' && { ...found.outcome, processorReference: 're' }, {
      kind: 'approved', processorReference: 're', authorizationReference: pi, amountMinor: 700n, currency: 'USD',
    });
    assert.deepEqual(await adapter.getOperationStatus({ idempotencyKey: attempt('never'), operation: 'refund', createdAt: new Date(), targetReference: pi }), { kind: 'not_found' });
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive server errors: calls fail fast without a request, then a trial call closes it', async () => {
    const states: CircuitStateName[] = [];
    const guarded = createStripeProcessorAdapter(adapterOptions({
      // Long enough that the fail-fast checks below run while the circuit is surely still open.
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 1_500 },
      onCircuitStateChange: (state) => states.push(state),
    }));
    closeLater.push(guarded);
    await failNext('server_error', PI_CREATE, 3);
    for (let i = 0; i < 3; i++) assert.equal(expectKind(await authorize(attempt('cb'), guarded), 'unknown').reason, 'server_error');
    assert.equal(guarded.circuitState(), 'open');

    const before = (await local.requests()).length;
    const refused = expectKind(await authorize(attempt('cb'), guarded), 'error');
    assert.deepEqual([refused.code, refused.sent, refused.retryable], ['processor_unavailable', false, true]);
    assert.equal(lastReport().attempts, 0);
    const query = expectKind(await guarded.getOperationStatus({ idempotencyKey: attempt('cb'), operation: 'authorize', createdAt: new Date() }), 'unavailable');
    assert.deepEqual([query.reason, query.sent], ['circuit_open', false]);
    assert.equal((await local.requests()).length, before);

    const key = attempt('trial');
    await eventually(async () => ((await authorize(key, guarded)).kind === 'approved' ? true : undefined), { timeoutMs: 15_000 });
    assert.equal(guarded.circuitState(), 'closed');
    assert.deepEqual(states, ['open', 'half_open', 'closed']);
  });
});

describe('connection refused', () => {
  it('nothing listening: processor_unavailable, not sent, after 1 + maxRetries attempts', async () => {
    const nowhere = createStripeProcessorAdapter(adapterOptions({ apiBase: `http://127.0.0.1:${await freePort()}` }));
    closeLater.push(nowhere);
    const outcome = expectKind(await authorize(attempt('refused'), nowhere), 'error');
    assert.deepEqual([outcome.code, outcome.sent, outcome.retryable], ['processor_unavailable', false, true]);
    assert.equal(lastReport().attempts, 3);
    const query = expectKind(await nowhere.getOperationStatus({ idempotencyKey: attempt('refused'), operation: 'authorize', createdAt: new Date() }), 'unavailable');
    assert.deepEqual([query.reason, query.sent], ['connect_failed', false]);
    assert.equal(lastReport().attempts, 3);
  });
});
