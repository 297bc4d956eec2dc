import pg from 'pg';
import type { Op } from './load.js';

/**
 * What the chaos test proves once the platform has converged, read straight from the databases (the owner role:
 * every row, no RLS), as lists of problems so that one failure shows all of them.
 */

async function query<T>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

interface PaymentRow {
  id: string;
  method: 'card' | 'bank_transfer';
  status: string;
  amount: string;
  amount_capturable: string;
  amount_captured: string;
  amount_refunded: string;
  amount_reversed: string;
  idempotency_key: string | null;
  rail_status: string | null;
}
interface RefundRow { id: string; payment_id: string; amount: string; status: string; idempotency_key: string | null }
interface TransitionRow { payment_id: string; from_status: string | null; to_status: string }
interface AttemptRow { id: string; payment_id: string; refund_id: string | null; operation: string; status: string }

export interface PlatformState {
  payments: Map<string, PaymentRow>;
  refunds: RefundRow[];
  transitions: TransitionRow[];
  attempts: AttemptRow[];
  /** method → from → reachable statuses (itself included): the database's own transition table, closed over. */
  reachable: Map<string, Map<string, Set<string>>>;
}

export async function readPlatformState(ownerUrl: string, tenantId: string): Promise<PlatformState> {
  // bigint columns as text: compared with BigInt below, never as floats
  const [payments, refunds, transitions, attempts, legal] = await Promise.all([
    query<PaymentRow>(ownerUrl, `SELECT id, method, status, amount::text, amount_capturable::text, amount_captured::text, amount_refunded::text,
      amount_reversed::text, idempotency_key, rail_status FROM payments WHERE tenant_id = $1`, [tenantId]),
    query<RefundRow>(ownerUrl, 'SELECT id, payment_id, amount::text, status, idempotency_key FROM refunds WHERE tenant_id = $1', [tenantId]),
    query<TransitionRow>(ownerUrl, 'SELECT payment_id, from_status, to_status FROM payment_transitions WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId]),
    query<AttemptRow>(ownerUrl, 'SELECT id, payment_id, refund_id, operation, status FROM payment_attempts WHERE tenant_id = $1', [tenantId]),
    query<{ method: string; from_status: string; to_status: string }>(ownerUrl, 'SELECT method, from_status, to_status FROM payment_status_transitions'),
  ]);
  const reachable = new Map<string, Map<string, Set<string>>>();
  for (const method of new Set(legal.map((l) => l.method))) {
    const edges = legal.filter((l) => l.method === method);
    const statuses = new Set(edges.flatMap((e) => [e.from_status, e.to_status]));
    const closure = new Map<string, Set<string>>();
    for (const start of statuses) {
      const seen = new Set([start]);
      const queue = [start];
      while (queue.length > 0) {
        const from = queue.shift()!;
        for (const e of edges) if (e.from_status === from && !seen.has(e.to_status)) seen.add(e.to_status) && queue.push(e.to_status);
      }
      closure.set(start, seen);
    }
    reachable.set(method, closure);
  }
  return { payments: new Map(payments.map((p) => [p.id, p])), refunds, transitions, attempts, reachable };
}

/** Rows still waiting on something: the platform has converged when this is empty. */
export function unresolved(state: PlatformState): string[] {
  return [
    ...[...state.payments.values()].filter((p) => p.status === 'processing').map((p) => `payment ${p.id} (${p.method}, rail ${p.rail_status}) processing`),
    ...state.refunds.filter((r) => r.status === 'pending').map((r) => `refund ${r.id} pending`),
    ...state.attempts.filter((a) => a.status === 'pending' || a.status === 'unknown').map((a) => `attempt ${a.id} (${a.operation} of ${a.payment_id}) ${a.status}`),
  ];
}

/** Money and state-machine invariants of every payment and refund. */
export function moneyProblems(state: PlatformState): string[] {
  const problems: string[] = [];
  const refundsOf = new Map<string, RefundRow[]>();
  for (const r of state.refunds) refundsOf.set(r.payment_id, [...(refundsOf.get(r.payment_id) ?? []), r]);
  const historyOf = new Map<string, TransitionRow[]>();
  for (const t of state.transitions) historyOf.set(t.payment_id, [...(historyOf.get(t.payment_id) ?? []), t]);

  for (const p of state.payments.values()) {
    const [amount, capturable, captured, refunded, reversed] = [p.amount, p.amount_capturable, p.amount_captured, p.amount_refunded, p.amount_reversed].map(BigInt) as [bigint, bigint, bigint, bigint, bigint];
    if (captured > amount) problems.push(`${p.id}: captured ${captured} > amount ${amount}`);
    if (capturable > amount) problems.push(`${p.id}: capturable ${capturable} > amount ${amount}`);
    if (refunded > captured) problems.push(`${p.id}: refunded ${refunded} > captured ${captured}`);
    if (reversed > captured) problems.push(`${p.id}: reversed ${reversed} > captured ${captured}`);
    if (['processing', 'failed', 'canceled'].includes(p.status) && captured !== 0n) problems.push(`${p.id}: ${p.status} with ${captured} captured`);
    if (p.status === 'succeeded' && captured === 0n) problems.push(`${p.id}: succeeded with nothing captured`);
    const notFailed = (refundsOf.get(p.id) ?? []).filter((r) => r.status !== 'failed').reduce((sum, r) => sum + BigInt(r.amount), 0n);
    if (notFailed !== refunded) problems.push(`${p.id}: amount_refunded ${refunded} but refunds not failed sum to ${notFailed}`);

    const history = historyOf.get(p.id) ?? [];
    const legal = state.reachable.get(p.method);
    let current: string | null = null;
    for (const step of history) {
      if (step.from_status !== current) problems.push(`${p.id}: transition from ${step.from_status} recorded while the status was ${current}`);
      const allowed = current === null
        ? step.to_status === 'processing'
        : step.to_status === current || (legal?.get(current)?.has(step.to_status) ?? false);
      if (!allowed) problems.push(`${p.id}: illegal transition ${current} → ${step.to_status}`);
      current = step.to_status;
    }
    if (current !== p.status) problems.push(`${p.id}: status ${p.status} but its history ends at ${current}`);
  }
  for (const r of state.refunds) {
    if (!state.payments.has(r.payment_id)) problems.push(`refund ${r.id} of an unknown payment ${r.payment_id}`);
  }
  return problems;
}

/**
 * Every answer a client got holds: the object it named exists exactly once under its Idempotency-Key, in the answered
 * status or one legally reachable from it; a refused request left nothing; and nothing exists that no request made.
 */
export function answerProblems(state: PlatformState, ops: readonly Op[]): string[] {
  const problems: string[] = [];
  const paymentsByKey = groupBy([...state.payments.values()], (p) => p.idempotency_key);
  const refundsByKey = groupBy(state.refunds, (r) => r.idempotency_key);
  const reachableFrom = (method: string, from: string, to: string) => from === to || (state.reachable.get(method)?.get(from)?.has(to) ?? false);
  for (const op of ops) {
    if (!op.answer) {
      problems.push(`${op.kind} ${op.key}: never answered`);
      continue;
    }
    const { status, body } = op.answer;
    const ok = status >= 200 && status < 300;
    if (op.kind === 'create') {
      const rows = paymentsByKey.get(op.key) ?? [];
      if (!ok) {
        if (rows.length > 0) problems.push(`create ${op.key}: answered ${status} ${body?.error?.code} but payment ${rows[0]!.id} exists`);
        continue;
      }
      if (rows.length !== 1) {
        problems.push(`create ${op.key}: ${rows.length} payments under the key (answered ${body.id})`);
        continue;
      }
      const row = rows[0]!;
      if (row.id !== body.id) problems.push(`create ${op.key}: answered ${body.id}, stored ${row.id}`);
      if (BigInt(row.amount) !== BigInt(op.body.amount as number)) problems.push(`create ${op.key}: amount ${row.amount}, asked ${op.body.amount as number}`);
      if (!reachableFrom(row.method, body.status, row.status)) problems.push(`payment ${row.id}: answered ${body.status}, now ${row.status} (not reachable)`);
    } else if (op.kind === 'refund') {
      const rows = refundsByKey.get(op.key) ?? [];
      if (!ok) {
        if (rows.length > 0) problems.push(`refund ${op.key}: answered ${status} ${body?.error?.code} but refund ${rows[0]!.id} exists`);
        continue;
      }
      if (rows.length !== 1 || rows[0]!.id !== body.id) {
        problems.push(`refund ${op.key}: answered ${body.id}, stored ${rows.map((r) => r.id).join(', ') || 'nothing'}`);
        continue;
      }
      if (body.status !== 'pending' && rows[0]!.status !== body.status) problems.push(`refund ${body.id}: answered ${body.status}, now ${rows[0]!.status}`);
    } else {
      if (!ok) continue;
      const row = state.payments.get(body.id);
      if (!row) {
        problems.push(`capture ${op.key}: answered payment ${body.id}, which does not exist`);
        continue;
      }
      if (!reachableFrom(row.method, body.status, row.status)) problems.push(`payment ${row.id}: capture answered ${body.status}, now ${row.status} (not reachable)`);
      if (body.status === 'succeeded' && BigInt(row.amount_captured) !== BigInt(body.amount_captured)) {
        problems.push(`payment ${row.id}: capture answered ${body.amount_captured} captured, stored ${row.amount_captured}`);
      }
    }
  }
  const createKeys = new Set(ops.filter((op) => op.kind === 'create').map((op) => op.key));
  const refundKeys = new Set(ops.filter((op) => op.kind === 'refund').map((op) => op.key));
  for (const p of state.payments.values()) if (!createKeys.has(p.idempotency_key ?? '')) problems.push(`payment ${p.id}: no request made it (key ${p.idempotency_key})`);
  for (const r of state.refunds) if (!refundKeys.has(r.idempotency_key ?? '')) problems.push(`refund ${r.id}: no request made it (key ${r.idempotency_key})`);
  return problems;
}

/**
 * The processor's own records agree with ours: one authorization or debit per payment at most, one exactly when we
 * say money moved, the same captured and refunded amounts. Nothing charged twice, nothing charged unrecorded.
 */
export async function processorProblems(state: PlatformState, sandboxOwnerUrl: string): Promise<string[]> {
  const problems: string[] = [];
  const [authorizations, debits, sandboxRefunds] = await Promise.all([
    query<{ id: string; idempotency_key: string; status: string; amount: string; captured_amount: string; refunded_amount: string }>(
      sandboxOwnerUrl, 'SELECT id, idempotency_key, status, amount::text, captured_amount::text, refunded_amount::text FROM sandbox_processor.authorizations'),
    query<{ idempotency_key: string; amount: string }>(sandboxOwnerUrl, 'SELECT idempotency_key, amount::text FROM sandbox_processor.bank_debits'),
    query<{ authorization_id: string; amount: string; status: string }>(sandboxOwnerUrl, 'SELECT authorization_id, amount::text, status FROM sandbox_processor.refunds'),
  ]);
  const authByKey = groupBy(authorizations, (a) => a.idempotency_key);
  const debitsByKey = groupBy(debits, (d) => d.idempotency_key);
  const attemptsOf = groupBy(state.attempts, (a) => a.payment_id);
  for (const p of state.payments.values()) {
    const attempts = attemptsOf.get(p.id) ?? [];
    if (p.method === 'card') {
      const auths = attempts.filter((a) => a.operation === 'authorize').flatMap((a) => authByKey.get(a.id) ?? []);
      const approved = auths.filter((a) => a.status === 'approved');
      const charged = ['succeeded', 'requires_capture', 'canceled'].includes(p.status);
      if (approved.length !== (charged ? 1 : 0)) {
        problems.push(`${p.id} (${p.status}): ${approved.length} approved authorizations at the processor`);
        continue;
      }
      const auth = approved[0];
      if (!auth) continue;
      if (auth.amount !== p.amount) problems.push(`${p.id}: authorized ${auth.amount} at the processor, amount ${p.amount}`);
      if (auth.captured_amount !== p.amount_captured) problems.push(`${p.id}: processor captured ${auth.captured_amount}, we say ${p.amount_captured}`);
      const ourRefunds = state.refunds.filter((r) => r.payment_id === p.id && r.status === 'succeeded').reduce((s, r) => s + BigInt(r.amount), 0n);
      const theirRefunds = sandboxRefunds.filter((r) => r.authorization_id === auth.id && r.status === 'approved').reduce((s, r) => s + BigInt(r.amount), 0n);
      if (ourRefunds !== theirRefunds) problems.push(`${p.id}: processor refunded ${theirRefunds}, we say ${ourRefunds}`);
    } else {
      const made = attempts.filter((a) => a.operation === 'bank_debit').flatMap((a) => debitsByKey.get(a.id) ?? []);
      if (made.length > 1 || (p.status === 'succeeded' && made.length !== 1)) problems.push(`${p.id} (${p.status}): ${made.length} debits at the rail`);
      if (made[0] && made[0].amount !== p.amount) problems.push(`${p.id}: rail debited ${made[0].amount}, amount ${p.amount}`);
    }
  }
  return problems;
}

/** Event ids of the tenant's committed events, oldest first. */
export async function committedEventIds(ownerUrl: string, tenantId: string): Promise<string[]> {
  const rows = await query<{ id: string }>(ownerUrl, 'SELECT id FROM events WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId]);
  return rows.map((r) => r.id);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string | null): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === null) continue;
    out.set(k, [...(out.get(k) ?? []), item]);
  }
  return out;
}
