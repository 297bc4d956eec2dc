import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { TestPlatform, TestResponse } from '../helpers/platform.js';
import { CARDS, cardBody, ownerQuery, post } from '../payments/helpers.js';
import { ACCOUNTS, FOREIGN_ROUTING, bankBody, sendNotification } from '../bank/helpers.js';

import { inFlight } from './invariants.js';
import { eventually } from '../helpers/eventually.js';

// The operations a client, the processor and the worker apply to payments, as fast-check commands run against the
// real API (and the real worker) in random order. The model only remembers which payments exist and the status last
// seen; what must hold afterwards is checked on the database (invariants.ts), so the commands assert only what each
// answer may be.

export interface Model {
  /** `status`: the last one an answer showed, to aim operations where they can succeed (the worker moves on too) */
  payments: Array<{ id: string; method: 'card' | 'bank_transfer'; amount: number; status: string }>;
}

export interface Real {
  platform: TestPlatform;
  tenantId: string;
  token: string;
  /** a platform client's token with support:write (the support console's "reconcile now") */
  supportToken: string;
  /** what each command was answered, for PROPS_VERBOSE */
  trace: string[];
}

type Cmd = fc.AsyncCommand<Model, Real>;

/** Statuses an operation may answer; anything else (a 5xx above all) fails the sequence. 503 is the open circuit. */
function expectAnswer(r: Real, res: TestResponse, allowed: number[], what: string): void {
  r.trace.push(`${what} → ${res.status}${res.body?.error ? ` ${res.body.error.code}` : res.body?.status ? ` ${res.body.status}` : ''}`);
  const ok = allowed.includes(res.status) || (res.status === 503 && res.body?.error?.code === 'processor_unavailable');
  assert.ok(ok, `${what} answered ${res.status} ${res.text.slice(0, 300)}`);
}

const CARD_OUTCOME: Record<string, { automatic: string[]; manual: string[] }> = {
  approved: { automatic: ['succeeded'], manual: ['requires_capture'] },
  declined: { automatic: ['failed'], manual: ['failed'] },
  unknown: { automatic: ['processing'], manual: ['processing'] },
};
const CARD_KIND: Record<keyof typeof CARDS, keyof typeof CARD_OUTCOME> = {
  visa: 'approved', mastercard: 'approved', amex: 'approved', refundDeclined: 'approved',
  declined: 'declined', insufficientFunds: 'declined', expired: 'declined', incorrectCvc: 'declined', processorError: 'declined',
  lostResponse: 'unknown', timeoutNothingRecorded: 'unknown',
};

class CreateCard implements Cmd {
  constructor(readonly card: keyof typeof CARDS, readonly capture: 'automatic' | 'manual', readonly amount: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const res = await post(r.platform, r.token, '/v1/payments', cardBody(CARDS[this.card], { amount: this.amount, capture_method: this.capture }));
    expectAnswer(r, res, [201], this.toString());
    if (res.status !== 201) return;
    assert.ok(CARD_OUTCOME[CARD_KIND[this.card]]![this.capture].includes(res.body.status), `${this} answered status ${res.body.status}`);
    m.payments.push({ id: res.body.id, method: 'card', amount: this.amount, status: res.body.status });
  }
  toString(): string {
    return `CreateCard(${this.card}, ${this.capture}, ${this.amount})`;
  }
}

class CreateBankTransfer implements Cmd {
  constructor(readonly account: keyof typeof ACCOUNTS | 'foreignRouting', readonly amount: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const body = this.account === 'foreignRouting'
      ? bankBody(ACCOUNTS.settles, { amount: this.amount }, { routing_number: FOREIGN_ROUTING })
      : bankBody(ACCOUNTS[this.account], { amount: this.amount });
    const res = await post(r.platform, r.token, '/v1/payments', body);
    expectAnswer(r, res, [201], this.toString());
    if (res.status !== 201) return;
    assert.equal(res.body.status, 'processing', `${this}`);
    m.payments.push({ id: res.body.id, method: 'bank_transfer', amount: this.amount, status: res.body.status });
  }
  toString(): string {
    return `CreateBankTransfer(${this.account}, ${this.amount})`;
  }
}

type AmountChoice = 'all' | 'part' | 'more';
function amountFor(choice: AmountChoice, of: number, fraction: number): number | undefined {
  if (choice === 'all') return undefined;
  if (choice === 'more') return of + 1;
  return Math.max(1, Math.floor(of * fraction));
}

/**
 * An operation on one of the sequence's payments: `aim` picks among those whose last known status allows it (so
 * captures and refunds do happen), otherwise any payment (so refusals happen too).
 */
abstract class OnPayment implements Cmd {
  protected readonly aimAt: readonly string[] = [];
  constructor(readonly pick: number, readonly aim: boolean) {}
  check = (m: Readonly<Model>) => m.payments.length > 0;
  protected async target(m: Model, r: Real) {
    if (this.aim) {
      // the worker moves payments on (transfers settle, lost answers get reconciled): aim with today's statuses
      const list = await r.platform.request('GET', '/v1/payments?limit=100', { token: r.token });
      assert.equal(list.status, 200, list.text);
      const now = new Map((list.body.data as Array<{ id: string; status: string }>).map((p) => [p.id, p.status]));
      for (const p of m.payments) p.status = now.get(p.id) ?? p.status;
    }
    const aimed = this.aim ? m.payments.filter((p) => this.aimAt.includes(p.status)) : [];
    const among = aimed.length > 0 ? aimed : m.payments;
    return among[this.pick % among.length]!;
  }
  protected label(name: string, extra = ''): string {
    return `${name}(${this.aim ? 'aimed ' : ''}#${this.pick}${extra})`;
  }
  abstract run(m: Model, r: Real): Promise<void>;
}

/** A command on a payment that takes an amount: none, the whole, a part, or more than the payment. */
abstract class OnPaymentWithAmount extends OnPayment {
  constructor(pick: number, aim: boolean, readonly choice: AmountChoice, readonly fraction: number) { super(pick, aim); }
  protected amountOf(p: { amount: number }): number | undefined {
    return amountFor(this.choice, p.amount, this.fraction);
  }
  protected labelWithAmount(name: string): string {
    return this.label(name, `, ${this.choice}${this.choice === 'part' ? ` ${this.fraction.toFixed(2)}` : ''}`);
  }
}

class Capture extends OnPaymentWithAmount {
  protected override readonly aimAt = ['requires_capture'];
  override async run(m: Model, r: Real) {
    const p = await this.target(m, r);
    const amount = this.amountOf(p);
    const res = await post(r.platform, r.token, `/v1/payments/${p.id}/capture`, amount === undefined ? {} : { amount });
    expectAnswer(r, res, [200, 202, 400, 402, 409], `${this} on ${p.id}`);
    if (res.status === 200 && res.body.status === 'succeeded') {
      assert.equal(res.body.amount_captured, amount ?? p.amount, `${this}: captured what was asked`);
    }
    if (res.status === 200 || res.status === 202) p.status = res.body.status;
  }
  override toString(): string {
    return this.labelWithAmount('Capture');
  }
}

class Cancel extends OnPayment {
  protected override readonly aimAt = ['requires_capture', 'processing'];
  override async run(m: Model, r: Real) {
    const p = await this.target(m, r);
    const res = await post(r.platform, r.token, `/v1/payments/${p.id}/cancel`, {});
    expectAnswer(r, res, [200, 202, 402, 409], `${this} on ${p.id}`);
    if (res.status === 200 || res.status === 202) p.status = res.body.status;
  }
  override toString(): string {
    return this.label('Cancel');
  }
}

class Refund extends OnPaymentWithAmount {
  protected override readonly aimAt = ['succeeded'];
  override async run(m: Model, r: Real) {
    const p = await this.target(m, r);
    const amount = this.amountOf(p);
    const res = await post(r.platform, r.token, `/v1/payments/${p.id}/refunds`, amount === undefined ? {} : { amount });
    expectAnswer(r, res, [201, 400, 409], `${this} on ${p.id}`);
    if (this.choice === 'more') assert.notEqual(res.status, 201, `${this}: refunded more than the payment`);
  }
  override toString(): string {
    return this.labelWithAmount('Refund');
  }
}

/**
 * The processor's notifications again: one the sandbox already pushed for this transfer, signed anew, either as a
 * redelivery (same id) or as a new notification with a stale snapshot (new id) — both must change nothing illegal.
 */
class Renotify extends OnPayment {
  protected override readonly aimAt = ['succeeded', 'failed', 'reversed', 'processing'];
  constructor(pick: number, aim: boolean, readonly which: number, readonly freshId: boolean) { super(pick, aim); }
  override async run(m: Model, r: Real) {
    const p = await this.target(m, r);
    const sent = await ownerQuery<{ raw_body: string }>(r.platform, `SELECT o.raw_body FROM sandbox_processor.notification_outbox o
      JOIN sandbox_processor.bank_debits d ON d.id = o.debit_id JOIN payment_attempts a ON a.id = d.idempotency_key
      WHERE a.payment_id = $1 AND o.raw_body IS NOT NULL ORDER BY o.id`, [p.id]);
    if (sent.length === 0) return;
    const envelope = JSON.parse(sent[this.which % sent.length]!.raw_body) as Record<string, unknown>;
    if (this.freshId) envelope.id = `ntf_replay_${randomUUID()}`;
    const res = await sendNotification(r.platform, envelope);
    expectAnswer(r, res, [200], `${this} on ${p.id}`);
  }
  override toString(): string {
    return this.label('Renotify', `, notification ${this.which}, ${this.freshId ? 'as a new one' : 'redelivered'}`);
  }
}

/** Support's "reconcile now": the reconciler looks at the payment's open attempts at once. */
class ReconcileNow extends OnPayment {
  protected override readonly aimAt = ['processing'];
  override async run(m: Model, r: Real) {
    const p = await this.target(m, r);
    const res = await r.platform.request('POST', `/v1/support/payments/${p.id}/reconcile`, { token: r.supportToken, body: { reason: 'property test: reconcile now' } });
    expectAnswer(r, res, [200], `${this} on ${p.id}`);
  }
  override toString(): string {
    return this.label('ReconcileNow');
  }
}

/** Waits for the worker: every lost answer reconciled, every refund and transfer settled, every late return made. */
class Settle implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real) {
    await eventually(async () => (await inFlight(r.platform.db.ownerUrl, r.tenantId)) === 0, { timeoutMs: 30_000, what: 'nothing in flight' });
  }
  toString(): string {
    return 'Settle';
  }
}

const pick = fc.nat({ max: 50 });
const aim = fc.oneof({ weight: 7, arbitrary: fc.constant(true) }, { weight: 3, arbitrary: fc.constant(false) });
const choice = fc.constantFrom<AmountChoice>('all', 'part', 'more');
const fraction = fc.double({ min: 0.05, max: 0.95, noNaN: true });
const amount = fc.integer({ min: 1, max: 50_000 });
const cardsOf = (kind: string) => (Object.keys(CARD_KIND) as Array<keyof typeof CARDS>).filter((c) => CARD_KIND[c] === kind);
// approved cards most often: captures and refunds need them
const cardChoice = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...cardsOf('approved')) },
  { weight: 3, arbitrary: fc.constantFrom(...cardsOf('declined')) },
  { weight: 2, arbitrary: fc.constantFrom(...cardsOf('unknown')) },
);
const accountChoice = fc.constantFrom<keyof typeof ACCOUNTS | 'foreignRouting'>('settles', 'settles', 'lateR10', 'lateR10', 'r01', 'r03', 'foreignRouting');

export const paymentCommands: Array<fc.Arbitrary<Cmd>> = [
  fc.tuple(cardChoice, fc.constantFrom<'automatic' | 'manual'>('automatic', 'manual'), amount).map(([card, capture, a]) => new CreateCard(card, capture, a)),
  fc.tuple(accountChoice, amount).map(([account, a]) => new CreateBankTransfer(account, a)),
  // captures and refunds twice as often as the rest: partial and repeated ones are where money could be created
  fc.tuple(pick, aim, choice, fraction).map(([p, a, c, f]) => new Capture(p, a, c, f)),
  fc.tuple(pick, aim, choice, fraction).map(([p, a, c, f]) => new Capture(p, a, c, f)),
  fc.tuple(pick, aim).map(([p, a]) => new Cancel(p, a)),
  fc.tuple(pick, aim, choice, fraction).map(([p, a, c, f]) => new Refund(p, a, c, f)),
  fc.tuple(pick, aim, choice, fraction).map(([p, a, c, f]) => new Refund(p, a, c, f)),
  fc.tuple(pick, aim, fc.nat({ max: 5 }), fc.boolean()).map(([p, a, w, fresh]) => new Renotify(p, a, w, fresh)),
  fc.tuple(pick, aim).map(([p, a]) => new ReconcileNow(p, a)),
  fc.constant(new Settle()),
];

export { Settle };
