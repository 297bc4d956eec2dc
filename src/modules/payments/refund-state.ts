import { REFUND_STATUSES, type RefundStatus } from '../../platform/db-schema.js';
import { InvalidStateTransitionError } from './payment-state.js';

// Refund state machine as data. A refund is created `pending` (its processor or rail call may still be in
// flight or its outcome unknown) and ends once. Names are refund-specific so the payments index can
// re-export them beside the payment helpers without clashing.

export { REFUND_STATUSES, type RefundStatus };

interface RefundEdge {
  readonly from: RefundStatus;
  readonly to: RefundStatus;
}

/**
 * Keyed by the event that causes each edge. No edge leaves a final status: a refund that failed is retried
 * by creating a new refund, so the history of each money movement stays append-only.
 */
const REFUND_TRANSITIONS = {
  refund_succeeded: { from: 'pending', to: 'succeeded' },
  /** Declined by the processor, or reconciliation found no such refund. */
  refund_failed: { from: 'pending', to: 'failed' },
} as const satisfies Record<string, RefundEdge>;

export type RefundEvent = keyof typeof REFUND_TRANSITIONS;

export function applyRefundEvent(from: RefundStatus, event: RefundEvent): RefundStatus {
  const table: Readonly<Record<PropertyKey, RefundEdge>> = REFUND_TRANSITIONS;
  const edge = Object.hasOwn(table, event) ? table[event] : undefined;
  if (edge === undefined) {
    throw new InvalidStateTransitionError('refund', from, from, String(event));
  }
  if (edge.from !== from) {
    throw new InvalidStateTransitionError('refund', from, edge.to, event);
  }
  return edge.to;
}
