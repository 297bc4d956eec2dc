import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidStateError, InvalidStateTransitionError } from './payment-state.js';
import { REFUND_STATUSES, applyRefundEvent, type RefundEvent, type RefundStatus } from './refund-state.js';

// Written out by hand so that adding or removing an edge breaks a test; `satisfies` makes the event list exhaustive.
const EXPECTED_EVENTS = {
  refund_succeeded: { from: 'pending', to: 'succeeded' },
  refund_failed: { from: 'pending', to: 'failed' },
} as const satisfies Record<RefundEvent, { from: RefundStatus; to: RefundStatus }>;

describe('refund state machine', () => {
  it('has the documented statuses', () => {
    assert.deepEqual([...REFUND_STATUSES], ['pending', 'succeeded', 'failed']);
  });

  for (const [event, edge] of Object.entries(EXPECTED_EVENTS) as Array<[RefundEvent, { from: RefundStatus; to: RefundStatus }]>) {
    for (const from of REFUND_STATUSES) {
      it(`applies ${event} only while ${edge.from} (from ${from})`, () => {
        if (from === edge.from) {
          assert.equal(applyRefundEvent(from, event), edge.to);
        } else {
          assert.throws(
            () => applyRefundEvent(from, event),
            (error: unknown) =>
              error instanceof InvalidStateTransitionError &&
              error instanceof InvalidStateError &&
              error.code === 'invalid_state' &&
              error.machine === 'refund' &&
              error.from === from &&
              error.event === event,
          );
        }
      });
    }
  }

  it('rejects unknown and prototype event names', () => {
    for (const event of ['toString', '__proto__', 'captured']) {
      assert.throws(() => applyRefundEvent('pending', event as RefundEvent), InvalidStateTransitionError, event);
    }
  });
});
