import pg from 'pg';
import {
  applyBankRailEvent, applyPaymentEvent, assertTransition, type BankRailEvent, type BankRailStatus, type PaymentMethod, type PaymentStatus,
} from '../../src/modules/payments/payment-state.js';
import { applyRefundEvent, type RefundStatus } from '../../src/modules/payments/refund-state.js';

// What must hold for every tenant at any committed moment, whatever happened before: read in one REPEATABLE READ
// snapshot through the owner connection, so a change committing mid-check cannot make payments, transitions and
// events disagree. The ledger comparison with the processor holds once nothing is in flight (`settled: true`).

interface PaymentRow {
  id: string; method: PaymentMethod; status: PaymentStatus; currency: string; rail_status: string | null;
  amount: string; amount_capturable: string; amount_captured: string; amount_refunded: string; amount_reversed: string;
}
interface RefundRow { id: string; payment_id: string; amount: string; currency: string; status: RefundStatus }
interface TransitionRow { payment_id: string; from_status: PaymentStatus | null; to_status: PaymentStatus; rail_status: string | null; reason: string }
interface EventRow { object_type: string; object_id: string; type: string }
interface LedgerRow { payment_id: string; captured: string | null; refunded: string | null }

const big = (v: string | null) => BigInt(v ?? 0);

/** Whether the state machine accepts a step: its functions throw on an illegal one. */
export function legal(step: () => unknown): boolean {
  try {
    step();
    return true;
  } catch {
    return false;
  }
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) out.set(key(row), [...(out.get(key(row)) ?? []), row]);
  return out;
}

/** The event each recorded transition must have written (README "Events and webhooks"). */
function expectedEvent(t: TransitionRow): string {
  if (t.from_status === null) return 'payment.processing';
  return t.from_status === t.to_status ? 'payment.updated' : `payment.${t.to_status}`;
}

function checkHistory(p: PaymentRow, history: TransitionRow[], problems: string[]): void {
  const say = (what: string): void => {
    problems.push(`${p.id} (${p.method}): ${what}; history ${history.map((t) => `${t.from_status}→${t.to_status}/${t.rail_status}`).join(', ')}`);
  };
  const [first, ...rest] = history;
  if (!first || first.from_status !== null || first.to_status !== 'processing') return say('does not start with its creation (→ processing)');
  let status: PaymentStatus = first.to_status;
  let rail = first.rail_status;
  if ((p.method === 'bank_transfer') !== (rail === 'pending')) say(`created with rail status ${rail}`);
  for (const t of rest) {
    if (t.from_status !== status) say(`a transition from ${t.from_status} while the status was ${status}`);
    if (t.from_status !== t.to_status && !legal(() => assertTransition(p.method, t.from_status ?? status, t.to_status))) {
      say(`illegal transition ${t.from_status} → ${t.to_status}`);
    }
    if (p.method === 'bank_transfer') {
      const next = t.rail_status;
      if (next !== rail) {
        // each rail event is named after the rail status it announces
        const edge = rail === null || next === null ? undefined : applyBankRailEvent(rail as BankRailStatus, next as BankRailEvent);
        if (edge?.outcome !== 'transition') say(`illegal rail change ${rail} → ${next}`);
        else {
          const { paymentEvent } = edge;
          const from = t.from_status;
          const ok = paymentEvent === null
            ? from === t.to_status
            : from !== null && legal(() => applyPaymentEvent('bank_transfer', from, paymentEvent))
              && applyPaymentEvent('bank_transfer', from, paymentEvent) === t.to_status;
          if (!ok) say(`rail ${rail} → ${next} came with ${t.from_status} → ${t.to_status}`);
        }
      } else if (!(rail === 'pending' && t.from_status === 'processing' && t.to_status === 'failed')) {
        // the one payment change without a rail change: the rail refused the debit at submission
        say(`${t.from_status} → ${t.to_status} without a rail change (rail ${rail})`);
      }
      rail = next;
    } else if (t.from_status === t.to_status) say(`a card transition that changes nothing (${t.to_status})`);
    status = t.to_status;
  }
  if (status !== p.status) say(`history ends in ${status}, the payment is ${p.status}`);
  if (p.method === 'bank_transfer' && rail !== p.rail_status) say(`history ends on rail ${rail}, the payment is on ${p.rail_status}`);
}

export async function tenantViolations(ownerUrl: string, tenantId: string, options: { settled: boolean }): Promise<string[]> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const q = async <T extends pg.QueryResultRow>(text: string): Promise<T[]> => (await client.query<T>(text, [tenantId])).rows;
    const payments = await q<PaymentRow>(`SELECT id, method, status, currency, rail_status, amount::text, amount_capturable::text, amount_captured::text,
      amount_refunded::text, amount_reversed::text FROM payments WHERE tenant_id = $1`);
    const refunds = await q<RefundRow>('SELECT id, payment_id, amount::text, currency, status FROM refunds WHERE tenant_id = $1 ORDER BY created_at, id');
    const transitions = await q<TransitionRow>('SELECT payment_id, from_status, to_status, rail_status, reason FROM payment_transitions WHERE tenant_id = $1 ORDER BY created_at, id');
    const events = await q<EventRow>('SELECT object_type, object_id, type FROM events WHERE tenant_id = $1 ORDER BY created_at, id');
    // The processor's side of each card payment, found by our attempt ids (its idempotency keys).
    const ledger = await q<LedgerRow>(`SELECT a.payment_id, max(s.captured_amount)::text AS captured, max(s.refunded_amount)::text AS refunded
      FROM payment_attempts a JOIN sandbox_processor.authorizations s ON s.idempotency_key = a.id
      WHERE a.tenant_id = $1 AND a.operation = 'authorize' GROUP BY a.payment_id`);
    const credits = await q<{ payment_id: string; credited: string }>(`SELECT a.payment_id, sum(c.amount)::text AS credited
      FROM payment_attempts a JOIN sandbox_processor.bank_credits c ON c.idempotency_key = a.id
      WHERE a.tenant_id = $1 AND a.operation = 'bank_credit' GROUP BY a.payment_id`);
    await client.query('COMMIT');

    const problems: string[] = [];
    const refundsOf = groupBy(refunds, (r) => r.payment_id);
    const historyOf = groupBy(transitions, (t) => t.payment_id);
    const eventsOf = groupBy(events, (e) => `${e.object_type} ${e.object_id}`);
    const ledgerOf = new Map(ledger.map((l) => [l.payment_id, l]));
    const creditsOf = new Map(credits.map((c) => [c.payment_id, big(c.credited)]));
    for (const p of payments) {
      const [amount, capturable, captured, refunded, reversed] = [p.amount, p.amount_capturable, p.amount_captured, p.amount_refunded, p.amount_reversed].map(big) as [bigint, bigint, bigint, bigint, bigint];
      const say = (what: string) => problems.push(`${p.id} (${p.method}, ${p.status}): ${what}`);
      if (!(captured >= 0n && captured <= amount)) say(`captured ${captured} outside 0..amount ${amount}`);
      if (!(capturable >= 0n && capturable <= amount)) say(`capturable ${capturable} outside 0..amount ${amount}`);
      if (!(refunded >= 0n && refunded <= captured)) say(`refunded ${refunded} outside 0..captured ${captured}`);
      if (!(reversed >= 0n && reversed <= captured)) say(`reversed ${reversed} outside 0..captured ${captured}`);
      if (['processing', 'failed', 'canceled'].includes(p.status) && captured !== 0n) say(`captured ${captured} although ${p.status}`);
      if (p.status === 'reversed' && reversed !== captured) say(`reversed ${reversed} ≠ captured ${captured}: a late return takes the whole debit`);
      const mine = refundsOf.get(p.id) ?? [];
      const reserved = mine.filter((r) => r.status !== 'failed').reduce((s, r) => s + big(r.amount), 0n);
      if (reserved !== refunded) say(`amount_refunded ${refunded} ≠ ${reserved}, the sum of its refunds not failed`);
      for (const r of mine) {
        if (big(r.amount) <= 0n || r.currency !== p.currency) say(`refund ${r.id}: amount ${r.amount} ${r.currency}`);
        const want = r.status === 'pending' ? [] : [`refund.${r.status}`];
        const got = (eventsOf.get(`refund ${r.id}`) ?? []).map((e) => e.type);
        if (JSON.stringify(got) !== JSON.stringify(want)) say(`refund ${r.id} (${r.status}) has events [${got.join(', ')}], expected [${want.join(', ')}]`);
        const final = r.status;
        if (final !== 'pending' && !legal(() => applyRefundEvent('pending', `refund_${final}`))) say(`refund ${r.id} reached ${final}`);
      }
      const history = historyOf.get(p.id) ?? [];
      checkHistory(p, history, problems);
      const got = (eventsOf.get(`payment ${p.id}`) ?? []).map((e) => e.type);
      const want = history.map(expectedEvent);
      if (JSON.stringify(got) !== JSON.stringify(want)) say(`events [${got.join(', ')}] do not match its transitions [${want.join(', ')}]`);
      if (options.settled) {
        const succeeded = mine.filter((r) => r.status === 'succeeded').reduce((s, r) => s + big(r.amount), 0n);
        if (p.method === 'card') {
          const side = ledgerOf.get(p.id);
          if (big(side?.captured ?? null) !== captured) say(`the processor captured ${side?.captured ?? 0}, we say ${captured}`);
          if (big(side?.refunded ?? null) !== succeeded) say(`the processor refunded ${side?.refunded ?? 0}, our succeeded refunds sum to ${succeeded}`);
        } else if ((creditsOf.get(p.id) ?? 0n) !== succeeded) {
          say(`the rail credited ${creditsOf.get(p.id) ?? 0n}, our succeeded refunds sum to ${succeeded}`);
        }
      }
    }
    const known = new Set([...payments.map((p) => `payment ${p.id}`), ...refunds.map((r) => `refund ${r.id}`)]);
    for (const key of eventsOf.keys()) if (!known.has(key)) problems.push(`events about an unknown object: ${key}`);
    return problems;
  } finally {
    await client.end();
  }
}

/**
 * Nothing in flight for the tenant: no payment processing, no refund pending, no attempt unresolved, and no settled
 * transfer the sandbox is about to return late (its scenario says so).
 */
export async function inFlight(ownerUrl: string, tenantId: string): Promise<number> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(`SELECT
      (SELECT count(*) FROM payments WHERE tenant_id = $1 AND status = 'processing')
      + (SELECT count(*) FROM refunds WHERE tenant_id = $1 AND status = 'pending')
      + (SELECT count(*) FROM payment_attempts WHERE tenant_id = $1 AND status IN ('pending', 'unknown'))
      + (SELECT count(*) FROM payments p JOIN payment_attempts a ON a.payment_id = p.id AND a.operation = 'bank_debit'
          JOIN sandbox_processor.bank_debits d ON d.idempotency_key = a.id
          WHERE p.tenant_id = $1 AND p.status = 'succeeded' AND d.scenario = 'late_return') AS n`, [tenantId]);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}
