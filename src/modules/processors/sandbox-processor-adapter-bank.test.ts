import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyProcessorNotification, type BankDebitSnapshot } from './index.js';
import { eventually } from '../../../test/helpers/eventually.js';
import { sandboxControl } from '../../../test/helpers/sandbox-control.js';
import { SETTLE_MS, LATE_RETURN_MS, NOTIFICATION_SECRET, attemptKey, lookup, outboxStates, startSandbox, useAdapterFixture } from '../../../test/helpers/sandbox-processor-fixture.js';

/**
 * The sandbox adapter's bank rail against a real sandbox over real loopback HTTP: debits that settle or return early
 * or late, credits, and the processor's signed notifications to a real receiver. The fixture
 * (test/helpers/sandbox-processor-fixture.ts) holds the timings, keys and secret shared with the other adapter tests.
 */

const fx = useAdapterFixture();

describe('sandbox processor adapter: bank rail and notifications', () => {
  const account = (accountNumber: string, routingNumber = '110000000') => ({
    accountNumber,
    routingNumber,
    accountType: 'checking' as const,
    holderName: 'Ada Lovelace',
  });

  async function debit(accountNumber: string): Promise<BankDebitSnapshot> {
    const outcome = await fx.adapter.createBankDebit({ idempotencyKey: attemptKey('bd'), amountMinor: 12_345n, currency: 'USD', account: account(accountNumber) });
    assert.equal(outcome.kind, 'approved');
    if (outcome.kind !== 'approved') throw new Error('unreachable');
    assert.match(outcome.processorReference, /^bd_/);
    assert.equal(outcome.debit.status, 'submitted');
    assert.equal(outcome.debit.accountLast4, accountNumber.slice(-4));
    return outcome.debit;
  }

  async function finalState(id: string, done: (d: BankDebitSnapshot) => boolean): Promise<BankDebitSnapshot> {
    return eventually(async () => {
      const result = await fx.adapter.getBankDebit(id);
      assert.ok(result.kind === 'found', `debit ${id}: ${result.kind}`);
      return result.kind === 'found' && done(result.debit) ? result.debit : undefined;
    }, { timeoutMs: 15_000 });
  }

  const eventsFor = (debitId: string) => fx.receiver.received.filter((r) => r.json.data.debit_id === debitId);

  it('settles, returns early (R01, R03) and returns late (R10), by polling and by signed notifications', async () => {
    const startedSec = Math.floor(Date.now() / 1000);
    const [settles, r01, r03, late, other] = await Promise.all(
      ['000123456789', '000111111113', '000111111116', '000222222227', '000987654321'].map((n) => debit(n)),
    );
    assert.ok(settles && r01 && r03 && late && other);

    const settled = await finalState(settles.processorReference, (d) => d.status !== 'submitted');
    assert.equal(settled.status, 'settled');
    assert.ok(settled.settledAt && settled.settledAt.getTime() - settled.submittedAt.getTime() === SETTLE_MS);
    assert.equal(settled.returnedAt, undefined);
    assert.equal((await finalState(other.processorReference, (d) => d.status !== 'submitted')).status, 'settled');

    for (const [early, code] of [[r01, 'R01'], [r03, 'R03']] as const) {
      const returned = await finalState(early.processorReference, (d) => d.status !== 'submitted');
      assert.equal(returned.status, 'returned');
      assert.equal(returned.returnCode, code);
      assert.ok(returned.returnReason);
      assert.equal(returned.settledAt, undefined, 'returned before settlement');
      assert.ok(returned.returnedAt);
    }

    // It settles first and returns LATE_RETURN_MS later: a poll may see either state first (a busy machine polls
    // late), so the settlement is read from the returned debit itself.
    const lateReturned = await finalState(late.processorReference, (d) => d.status === 'returned');
    assert.equal(lateReturned.returnCode, 'R10');
    assert.ok(lateReturned.settledAt && lateReturned.returnedAt, 'the late-return account settled first');
    assert.equal(lateReturned.returnedAt.getTime() - lateReturned.settledAt.getTime(), LATE_RETURN_MS);

    const expected: Array<[BankDebitSnapshot, string[]]> = [
      [settles, ['bank_debit.settled']],
      [other, ['bank_debit.settled']],
      [r01, ['bank_debit.returned']],
      [r03, ['bank_debit.returned']],
      [late, ['bank_debit.settled', 'bank_debit.returned']],
    ];
    await eventually(() => (expected.every(([d, types]) => eventsFor(d.processorReference).length >= types.length) ? true : undefined), { timeoutMs: 15_000 });
    const nowSec = Math.floor(Date.now() / 1000);
    const ids = new Set<string>();
    for (const [d, types] of expected) {
      const events = eventsFor(d.processorReference);
      assert.deepEqual(events.map((e) => e.json.type), types);
      for (const event of events) {
        const verdict = verifyProcessorNotification({
          secret: NOTIFICATION_SECRET,
          rawBody: event.rawBody,
          header: event.headers['processor-signature'] as string | undefined,
          nowSec,
        });
        assert.equal(verdict.ok, true);
        assert.match(event.json.id, /^ntf_/);
        ids.add(event.json.id);
        assert.equal(event.json.data.idempotency_key, d.idempotencyKey);
        assert.ok(event.json.created >= startedSec - 1 && event.json.created <= nowSec + 1, `created ${event.json.created}`);
      }
    }
    assert.equal(ids.size, 6, 'one unique id per event');
    const r01Event = eventsFor(r01.processorReference)[0]!.json.data;
    assert.equal(r01Event.return_code, 'R01');
    assert.equal(r01Event.status, 'returned');
    assert.equal(r01Event.settled_at, undefined);
    const lateEvents = eventsFor(late.processorReference);
    assert.equal(lateEvents[1]!.json.data.return_code, 'R10');
    assert.ok(lateEvents[1]!.json.data.settled_at);
  });

  it('rejects a tampered notification and one with an old timestamp', () => {
    const event = fx.receiver.received[0];
    assert.ok(event, 'a notification was received');
    const header = event.headers['processor-signature'] as string;
    const nowSec = Math.floor(Date.now() / 1000);
    const tampered = event.rawBody.replace(/"status":"\w+"/, '"status":"settled_and_paid"');
    assert.notEqual(tampered, event.rawBody);
    assert.deepEqual(verifyProcessorNotification({ secret: NOTIFICATION_SECRET, rawBody: tampered, header, nowSec }), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verifyProcessorNotification({ secret: NOTIFICATION_SECRET, rawBody: event.rawBody, header, nowSec: nowSec + 301 }), {
      ok: false,
      reason: 'timestamp_out_of_tolerance',
    });
    assert.equal(verifyProcessorNotification({ secret: 'wrong', rawBody: event.rawBody, header, nowSec }).ok, false);
  });

  it('drop_notifications skips pushes while polling still tells the truth', async () => {
    await sandboxControl(fx.sandboxUrl, { drop_notifications: true });
    try {
      const d = await debit('000123456789');
      const settled = await finalState(d.processorReference, (s) => s.status === 'settled');
      assert.equal(settled.status, 'settled');
      // the notifier has dealt with the settlement event (dropped it): anything it would push has been pushed
      await eventually(async () => ((await outboxStates(fx.sandboxDb, d.processorReference)).includes('dropped') ? true : undefined), { timeoutMs: 15_000 });
      assert.equal(eventsFor(d.processorReference).length, 0);
    } finally {
      await sandboxControl(fx.sandboxUrl, { drop_notifications: false });
    }
  });

  it('retries a failed push with the same event id, then gives up after the last attempt', async () => {
    const outcome = await fx.adapter.createBankDebit({ idempotencyKey: attemptKey('bd-f'), amountMinor: 1n, currency: 'usd', account: account('000123456789') });
    assert.equal(outcome.kind, 'approved');
    if (outcome.kind !== 'approved') return;
    fx.receiver.failingDebits.add(outcome.processorReference);
    // 3 attempts: at settlement, +20 ms, +40 ms; then the notifier gives up and sends nothing more.
    await eventually(async () => ((await outboxStates(fx.sandboxDb, outcome.processorReference)).includes('given_up') ? true : undefined), { timeoutMs: 15_000 });
    const attempts = eventsFor(outcome.processorReference);
    assert.equal(attempts.length, 3);
    assert.equal(new Set(attempts.map((a) => a.json.id)).size, 1);
  });

  it('declines an unknown routing number; credits need a settled debit and stay within its amount', async () => {
    const declined = await fx.adapter.createBankDebit({ idempotencyKey: attemptKey('bd-r'), amountMinor: 100n, currency: 'usd', account: account('000123456789', '021000021') });
    assert.equal(declined.kind === 'declined' && declined.code, 'invalid_routing_number');

    // A debit that cannot settle while the test runs (its sandbox settles after ten minutes): no credit on it yet.
    const slow = await startSandbox(fx.sandboxDb, { settlementDelayMs: 600_000 });
    fx.closeLater(slow.app);
    const slowAdapter = fx.makeAdapter({ baseUrl: slow.url });
    const unsettled = await slowAdapter.createBankDebit({ idempotencyKey: attemptKey('bd-slow'), amountMinor: 12_345n, currency: 'USD', account: account('000123456789') });
    assert.equal(unsettled.kind, 'approved');
    if (unsettled.kind !== 'approved') return;
    const early = await slowAdapter.createBankCredit({ idempotencyKey: attemptKey('bc-early'), debitReference: unsettled.processorReference, amountMinor: 100n });
    assert.equal(early.kind === 'error' && early.processorCode, 'invalid_state');

    const d = await debit('000123456789');
    await finalState(d.processorReference, (s) => s.status === 'settled');
    const creditKey = attemptKey('bc');
    const credit = await fx.adapter.createBankCredit({ idempotencyKey: creditKey, debitReference: d.processorReference, amountMinor: 10_000n });
    assert.equal(credit.kind, 'approved');
    if (credit.kind !== 'approved') return;
    assert.match(credit.processorReference, /^bc_/);
    assert.equal(credit.amountMinor, 10_000n);
    assert.equal(credit.currency, 'USD');
    const status = await fx.adapter.getOperationStatus(lookup(creditKey));
    assert.deepEqual(status, { kind: 'found', operation: 'bank_credit', outcome: credit });
    const over = await fx.adapter.createBankCredit({ idempotencyKey: attemptKey('bc-over'), debitReference: d.processorReference, amountMinor: 2_346n });
    assert.equal(over.kind === 'error' && over.processorCode, 'amount_exceeds_debit');
    assert.deepEqual(await fx.adapter.getBankDebit('bd_does_not_exist'), { kind: 'not_found' });
  });
});
