import type { Tx } from '../../platform/db.js';
import type { EventType } from '../events/index.js';
import { recordEventAndFanOut } from '../webhooks/index.js';
import type { PaymentStatus } from '../../platform/db-schema.js';
import type { AttemptRow, PaymentRow, RefundRow, TransitionRow } from './payments.repository.js';
import type { PaymentResource, RefundResource } from './payments.schema.js';

// The one mapper per resource: DB rows never reach a client, an event or an idempotency record directly.

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const num = (v: bigint): number => Number(v); // amounts are capped far below 2^53 (MAX_AMOUNT_MINOR)

export function toPaymentResource(row: PaymentRow, expand?: { attempts: AttemptRow[]; transitions: TransitionRow[] }): PaymentResource {
  const resource: PaymentResource = {
    id: row.id,
    object: 'payment',
    status: row.status,
    amount: num(row.amount),
    currency: row.currency,
    capture_method: row.capture_method,
    amount_capturable: num(row.amount_capturable),
    amount_captured: num(row.amount_captured),
    amount_refunded: num(row.amount_refunded),
    amount_reversed: num(row.amount_reversed),
    amount_settled: num(row.amount_captured - row.amount_reversed),
    payment_method: row.method === 'card'
      ? {
          type: 'card',
          card: {
            brand: row.card_brand,
            last4: row.card_last4,
            exp_month: row.card_exp_month,
            exp_year: row.card_exp_year,
            fingerprint: row.card_fingerprint,
          },
        }
      : {
          type: 'bank_transfer',
          bank_account: {
            account_holder_name: row.bank_account_holder,
            routing_number: row.bank_routing_number,
            last4: row.bank_account_last4,
            account_type: row.bank_account_type,
            fingerprint: row.bank_fingerprint,
          },
        },
    description: row.description,
    metadata: row.metadata,
    customer_reference: row.customer_reference,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
  if (row.method === 'bank_transfer') {
    resource.bank_transfer = {
      rail_status: row.rail_status,
      return_code: row.return_code,
      return_reason: row.return_reason,
      submitted_at: iso(row.submitted_at),
      settled_at: iso(row.settled_at),
      returned_at: iso(row.returned_at),
      expected_settlement_at: iso(row.expected_settlement_at),
    };
  }
  if (expand) {
    resource.attempts = expand.attempts.map((a) => ({
      id: a.id,
      operation: a.operation,
      amount: num(a.amount),
      status: a.status,
      processor_reference: a.processor_reference,
      failure_code: a.failure_code,
      failure_message: a.failure_message,
      latency_ms: a.latency_ms,
      reconcile_count: a.reconcile_count,
      created_at: a.created_at.toISOString(),
      completed_at: iso(a.completed_at),
    }));
    resource.status_history = expand.transitions.map((t) => ({
      from_status: t.from_status,
      to_status: t.to_status,
      rail_status: t.rail_status,
      reason: t.reason,
      created_at: t.created_at.toISOString(),
    }));
  }
  return resource;
}

export function toRefundResource(row: RefundRow): RefundResource {
  return {
    id: row.id,
    object: 'refund',
    payment_id: row.payment_id,
    amount: num(row.amount),
    currency: row.currency,
    status: row.status,
    reason: row.reason,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export type PaymentEventType = Extract<EventType, `payment.${string}`>;
export type RefundEventType = Extract<EventType, `refund.${string}`>;

/** The event announcing that a payment entered a status (rail-only changes are `payment.updated`). */
export const PAYMENT_STATUS_EVENT: Record<PaymentStatus, PaymentEventType> = {
  processing: 'payment.processing',
  requires_capture: 'payment.requires_capture',
  succeeded: 'payment.succeeded',
  failed: 'payment.failed',
  canceled: 'payment.canceled',
  reversed: 'payment.reversed',
};

/** In the caller's transaction, so the event (and its webhooks) exist exactly when the change committed. */
export async function recordPaymentEvent(tx: Tx, tenantId: string, row: PaymentRow, type: PaymentEventType): Promise<void> {
  await recordEventAndFanOut(tx, tenantId, { type, objectType: 'payment', objectId: row.id, object: toPaymentResource(row) });
}

export async function recordRefundEvent(tx: Tx, tenantId: string, row: RefundRow, type: RefundEventType): Promise<void> {
  await recordEventAndFanOut(tx, tenantId, { type, objectType: 'refund', objectId: row.id, object: toRefundResource(row) });
}
