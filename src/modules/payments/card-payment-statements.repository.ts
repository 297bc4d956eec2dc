import { sql } from 'kysely';
import { prepared, type Queryable } from '../../platform/db.js';
import type { ClaimRequest, ClaimRow } from '../../platform/idempotency.repository.js';
import type { PaymentStatus } from '../../platform/db-schema.js';

// The card payment statements of migrations/0010_payment_statements.sql, the two round trips of a card payment.
// Each is one statement in autocommit mode, hence one round trip and its own transaction; called inside a
// transaction it joins it instead.

export interface NewCardPayment {
  claim: ClaimRequest;
  payment: {
    id: string;
    amount: bigint;
    currency: string;
    capture_method: 'automatic' | 'manual';
    description: string | null;
    metadata: Record<string, string>;
    customer_reference: string | null;
    card_brand: string;
    card_last4: string;
    card_exp_month: number;
    card_exp_year: number;
    card_fingerprint: string;
  };
  attemptId: string;
  reconcileAfterMs: number;
  transitionId: string;
  eventId: string;
  /** The `processing` payment's resource, serialised; the statement stamps its timestamps in. */
  resourceJson: string;
}

export type CreatedCardPayment = Omit<ClaimRow, 'outcome'> & {
  outcome: ClaimRow['outcome'] | 'created' | 'resumed';
  payment_id: string | null;
  created_at: Date | null;
  updated_at: Date | null;
};

/** Transaction 1 of a card payment: the key's claim, then (if ours) the payment, its attempt, transition and event. */
export async function createCardPayment(q: Queryable, tenantId: string, c: NewCardPayment): Promise<CreatedCardPayment> {
  const p = c.payment;
  const res = await sql<CreatedCardPayment>`
    ${sql.raw(prepared('create_card_payment'))} SELECT * FROM create_card_payment(
      ${tenantId}, ${c.claim.key}, ${c.claim.method}, ${c.claim.path}, ${c.claim.requestHash}, ${c.claim.leaseMs}::int,
      ${p.id}, ${p.amount.toString()}::bigint, ${p.currency}, ${p.capture_method}, ${p.description}, ${JSON.stringify(p.metadata)}::jsonb,
      ${p.customer_reference}, ${p.card_brand}, ${p.card_last4}, ${p.card_exp_month}::smallint, ${p.card_exp_year}::smallint,
      ${p.card_fingerprint}, ${c.attemptId}, ${c.reconcileAfterMs}::int, ${c.transitionId}, ${c.eventId}, ${c.resourceJson}::jsonb)`.execute(q);
  const row = res.rows[0];
  if (!row) throw new Error(`create_card_payment returned no row for payment ${p.id}`);
  return row;
}

export interface CardAttemptSettlement {
  paymentId: string;
  attemptId: string;
  attempt:
    | { status: 'succeeded' | 'failed'; processorReference: string | null; failureCode: string | null; failureMessage: string | null; latencyMs: number | null }
    | { status: 'unknown'; failureMessage: string; latencyMs: number | null; reconcileAfterMs: number };
  transition?: {
    from: PaymentStatus;
    to: PaymentStatus;
    /** NULL fields keep the payment's value; a failed payment takes the attempt's failure code and message. */
    processorReference: string | null;
    amountCapturable: bigint | null;
    amountCaptured: bigint | null;
    reason: string;
    transitionId: string;
    eventId: string;
    eventType: string;
  };
  /** The payment's resource after the change, serialised; needed with a transition or an answer. */
  resourceJson?: string;
  /** Stores the resource as this key's idempotent answer. */
  answer?: { key: string; status: number };
}

export interface SettledCardAttempt {
  /** `superseded`: the attempt was no longer open (its outcome was applied by someone else); nothing changed. */
  outcome: 'applied' | 'superseded';
  created_at: Date;
  updated_at: Date;
}

/** Transaction 2 of a card operation (authorize, capture, void), from the request or the reconciler. */
export async function settleCardAttempt(q: Queryable, tenantId: string, s: CardAttemptSettlement): Promise<SettledCardAttempt> {
  const a = s.attempt;
  const settled = a.status !== 'unknown';
  const t = s.transition;
  const res = await sql<SettledCardAttempt>`
    ${sql.raw(prepared('settle_card_attempt'))} SELECT * FROM settle_card_attempt(
      ${tenantId}, ${s.paymentId}, ${s.attemptId}, ${a.status}, ${settled ? a.processorReference : null},
      ${settled ? a.failureCode : null}, ${a.failureMessage}, ${a.latencyMs}::int, ${settled ? null : a.reconcileAfterMs}::int,
      ${t?.from ?? null}, ${t?.to ?? null}, ${t?.processorReference ?? null},
      ${t?.amountCapturable?.toString() ?? null}::bigint, ${t?.amountCaptured?.toString() ?? null}::bigint,
      ${t?.transitionId ?? null}, ${t?.reason ?? null}, ${t?.eventId ?? null}, ${t?.eventType ?? null}, ${s.resourceJson ?? null}::jsonb,
      ${s.answer?.key ?? null}, ${s.answer?.status ?? null}::int)`.execute(q);
  const row = res.rows[0];
  if (!row) throw new Error(`settle_card_attempt returned no row for attempt ${s.attemptId}`);
  return row;
}
