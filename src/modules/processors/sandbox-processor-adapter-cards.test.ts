import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sandboxControl } from '../../../test/helpers/sandbox-control.js';
import { SHORT_TIMEOUT_MS, approvedAuth, attemptKey, lookup, testCard, useAdapterFixture } from '../../../test/helpers/sandbox-processor-fixture.js';

/**
 * The sandbox adapter against a real sandbox over real loopback HTTP: how card answers map to outcomes (approvals,
 * declines, retried 5xx, lost answers) and the card life cycle (idempotency, capture, refund, void). The fixture
 * (test/helpers/sandbox-processor-fixture.ts) holds the timings, keys and cards shared with the other adapter tests.
 */

const fx = useAdapterFixture();

describe('sandbox processor adapter: card outcomes', () => {
  const approvedCards: Array<[string, string]> = [
    ['4242424242424242', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011111111111117', 'discover'],
  ];
  for (const [number, brand] of approvedCards) {
    it(`approves ${brand} ${number.slice(-4)}`, async () => {
      const outcome = approvedAuth(
        await fx.adapter.authorize({ idempotencyKey: attemptKey('ok'), amountMinor: 1999n, currency: 'USD', card: testCard(number, brand === 'amex' ? '1234' : '123'), capture: false }),
      );
      assert.match(outcome.processorReference, /^auth_/);
      assert.equal(outcome.authorizedAmountMinor, 1999n);
      assert.equal(outcome.capturedAmountMinor, 0n);
      assert.equal(outcome.currency, 'USD');
      assert.deepEqual(outcome.card, { brand, last4: number.slice(-4) });
    });
  }

  const declines: Array<[string, string]> = [
    ['4000000000000002', 'card_declined'],
    ['4000000000009995', 'insufficient_funds'],
    ['4000000000000069', 'expired_card'],
    ['4000000000000127', 'incorrect_cvc'],
    ['4242424242424241', 'invalid_number'],
  ];
  for (const [number, code] of declines) {
    it(`declines ${number} with ${code} (a result, with a reference)`, async () => {
      const outcome = await fx.adapter.authorize({ idempotencyKey: attemptKey('dec'), amountMinor: 500n, currency: 'usd', card: testCard(number), capture: true });
      assert.equal(outcome.kind, 'declined');
      if (outcome.kind !== 'declined') return;
      assert.equal(outcome.code, code);
      assert.equal(outcome.processorCode, code);
      assert.match(outcome.processorReference ?? '', /^auth_/);
      assert.ok(outcome.message.length > 0);
    });
  }

  it('authorize with capture: true captures the full amount', async () => {
    const outcome = approvedAuth(
      await fx.adapter.authorize({ idempotencyKey: attemptKey('cap'), amountMinor: 4200n, currency: 'EUR', card: testCard('4242424242424242'), capture: true }),
    );
    assert.equal(outcome.capturedAmountMinor, 4200n);
    assert.equal(outcome.currency, 'EUR');
  });

  it('retries 5xx with the same key (…0119), then answers processing_error retryable, recording nothing', async () => {
    const k = attemptKey('5xx');
    const before = fx.sandboxRequests();
    const outcome = await fx.adapter.authorize({ idempotencyKey: k, amountMinor: 100n, currency: 'usd', card: testCard('4000000000000119'), capture: false });
    assert.deepEqual(
      { kind: outcome.kind, ...(outcome.kind === 'error' ? { code: outcome.code, retryable: outcome.retryable, sent: outcome.sent, httpStatus: outcome.httpStatus } : {}) },
      { kind: 'error', code: 'processing_error', retryable: true, sent: true, httpStatus: 500 },
    );
    assert.equal(fx.sandboxRequests() - before, 3, '1 attempt + 2 retries');
    assert.equal(fx.reports.at(-1)?.attempts, 3);
    assert.deepEqual(await fx.adapter.getOperationStatus(lookup(k)), { kind: 'not_found' });
  });

  it('lost response (…0408): unknown/timeout within the deadline, status query finds the approval, replay returns it', async () => {
    const k = attemptKey('lost');
    const impatient = fx.makeAdapter({ timeoutMs: SHORT_TIMEOUT_MS, onCall: (report) => fx.reports.push(report) });
    const outcome = await impatient.authorize({ idempotencyKey: k, amountMinor: 777n, currency: 'usd', card: testCard('4000000000000408'), capture: false });
    assert.equal(outcome.kind, 'unknown');
    assert.equal(outcome.kind === 'unknown' && outcome.reason, 'timeout');
    // the adapter gave up on its own deadline: the sandbox still holds the answer
    assert.ok((await sandboxControl(fx.sandboxUrl)).held_requests >= 1, 'the answer is still held at the processor');

    const status = await fx.adapter.getOperationStatus(lookup(k));
    assert.equal(status.kind, 'found');
    if (status.kind !== 'found' || status.operation !== 'authorize') return assert.fail('expected an authorize record');
    const approved = approvedAuth(status.outcome);
    assert.equal(approved.authorizedAmountMinor, 777n);

    const replay = approvedAuth(
      await fx.adapter.authorize({ idempotencyKey: k, amountMinor: 777n, currency: 'usd', card: testCard('4000000000000408'), capture: false }),
    );
    assert.equal(replay.processorReference, approved.processorReference);
  });

  it('lost before recording (…0416): unknown/timeout, then status query says not_found', async () => {
    const k = attemptKey('lost-none');
    const impatient = fx.makeAdapter({ timeoutMs: SHORT_TIMEOUT_MS, onCall: (report) => fx.reports.push(report) });
    const outcome = await impatient.authorize({ idempotencyKey: k, amountMinor: 100n, currency: 'usd', card: testCard('4000000000000416'), capture: false });
    assert.equal(outcome.kind === 'unknown' && outcome.reason, 'timeout');
    assert.deepEqual(await fx.adapter.getOperationStatus(lookup(k)), { kind: 'not_found' });
  });

  it('refunds of …0424 are declined refund_declined', async () => {
    const auth = approvedAuth(
      await fx.adapter.authorize({ idempotencyKey: attemptKey('424'), amountMinor: 1000n, currency: 'usd', card: testCard('4000000000000424'), capture: true }),
    );
    const refund = await fx.adapter.refund({ idempotencyKey: attemptKey('424-rf'), authorizationReference: auth.processorReference, amountMinor: 400n });
    assert.equal(refund.kind, 'declined');
    assert.equal(refund.kind === 'declined' && refund.code, 'refund_declined');
    assert.match((refund.kind === 'declined' && refund.processorReference) || '', /^rf_/);
  });
});

describe('sandbox processor adapter: idempotency and card life cycle', () => {
  it('same key twice → one authorization; same key with another amount → non-retryable error', async () => {
    const k = attemptKey('idem');
    const before = (await sandboxControl(fx.sandboxUrl)).counts;
    const request = { idempotencyKey: k, amountMinor: 1500n, currency: 'usd', card: testCard('4242424242424242'), capture: false };
    const first = approvedAuth(await fx.adapter.authorize(request));
    const second = approvedAuth(await fx.adapter.authorize(request));
    assert.equal(second.processorReference, first.processorReference);
    assert.equal((await sandboxControl(fx.sandboxUrl)).counts.authorizations, Number(before.authorizations ?? 0) + 1);

    const conflict = await fx.adapter.authorize({ ...request, amountMinor: 1501n });
    assert.equal(conflict.kind, 'error');
    if (conflict.kind !== 'error') return;
    assert.equal(conflict.code, 'processing_error');
    assert.equal(conflict.retryable, false);
    assert.equal(conflict.processorCode, 'idempotency_key_reused');
    assert.equal(conflict.httpStatus, 422);
  });

  it('capture (partial) → refunds up to the captured amount; over-refund is a non-retryable error', async () => {
    const auth = approvedAuth(
      await fx.adapter.authorize({ idempotencyKey: attemptKey('life'), amountMinor: 10_000n, currency: 'usd', card: testCard('5555555555554444'), capture: false }),
    );
    const captureKey = attemptKey('life-cap');
    const capture = await fx.adapter.capture({ idempotencyKey: captureKey, authorizationReference: auth.processorReference, amountMinor: 8_000n });
    assert.equal(capture.kind, 'approved');
    if (capture.kind !== 'approved') return;
    assert.equal(capture.capturedAmountMinor, 8_000n);
    assert.equal(capture.authorizedAmountMinor, 10_000n);
    assert.equal(capture.processorReference, auth.processorReference);

    const r1 = await fx.adapter.refund({ idempotencyKey: attemptKey('life-rf1'), authorizationReference: auth.processorReference, amountMinor: 3_000n });
    assert.equal(r1.kind, 'approved');
    assert.equal(r1.kind === 'approved' && r1.amountMinor, 3_000n);
    assert.equal(r1.kind === 'approved' && r1.authorizationReference, auth.processorReference);
    const r2 = await fx.adapter.refund({ idempotencyKey: attemptKey('life-rf2'), authorizationReference: auth.processorReference, amountMinor: 5_000n });
    assert.equal(r2.kind, 'approved');
    const over = await fx.adapter.refund({ idempotencyKey: attemptKey('life-rf3'), authorizationReference: auth.processorReference, amountMinor: 1n });
    assert.equal(over.kind === 'error' && over.processorCode, 'amount_exceeds_captured');
    assert.equal(over.kind === 'error' && over.retryable, false);

    const recorded = await fx.adapter.getOperationStatus(lookup(captureKey));
    assert.deepEqual(recorded, { kind: 'found', operation: 'capture', outcome: capture });
  });

  it('void releases an authorization; capturing it afterwards is refused (invalid_state)', async () => {
    const auth = approvedAuth(
      await fx.adapter.authorize({ idempotencyKey: attemptKey('void'), amountMinor: 2_000n, currency: 'usd', card: testCard('4242424242424242'), capture: false }),
    );
    const voidKey = attemptKey('void-v');
    const voided = await fx.adapter.voidAuthorization({ idempotencyKey: voidKey, authorizationReference: auth.processorReference });
    assert.deepEqual(voided, { kind: 'approved', processorReference: auth.processorReference });
    const status = await fx.adapter.getOperationStatus(lookup(voidKey));
    assert.deepEqual(status, { kind: 'found', operation: 'void', outcome: voided });
    const capture = await fx.adapter.capture({ idempotencyKey: attemptKey('void-c'), authorizationReference: auth.processorReference, amountMinor: 2_000n });
    assert.equal(capture.kind === 'error' && capture.processorCode, 'invalid_state');
  });

  it('refuses an amount that JSON cannot carry exactly, without sending', async () => {
    const before = fx.sandboxRequests();
    const outcome = await fx.adapter.authorize({ idempotencyKey: attemptKey('big'), amountMinor: 2n ** 60n, currency: 'usd', card: testCard('4242424242424242'), capture: false });
    assert.equal(outcome.kind === 'error' && outcome.sent, false);
    assert.equal(fx.sandboxRequests(), before);
  });

  it('reports every call to onCall with operation, outcome kind and latency', () => {
    const authorizeReports = fx.reports.filter((r) => r.operation === 'authorize');
    assert.ok(authorizeReports.some((r) => r.outcome === 'approved'));
    assert.ok(authorizeReports.some((r) => r.outcome === 'declined' && r.code === 'card_declined'));
    assert.ok(authorizeReports.some((r) => r.outcome === 'unknown' && r.code === 'timeout'));
    assert.ok(fx.reports.some((r) => r.operation === 'get_operation_status' && r.outcome === 'not_found'));
    assert.ok(fx.reports.every((r) => r.latencyMs >= 0 && Number.isFinite(r.latencyMs)));
  });
});
