import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidStateError, InvalidStateTransitionError } from './payment-state.js';
import {
  REFUND_STATUSES,
  REFUND_TRANSITIONS,
  applyRefundEvent,
  assertRefundTransition,
  canTransitionRefund,
  isTerminalRefundStatus,
  type RefundEvent,
} from './refund-state.js';

// Written out by hand so that adding an edge to the table breaks a test.
const EXPECTED_EDGES = new Set(['pending>succeeded', 'pending>failed']);

describe('refund state machine', () => {
  it('has the documented statuses and events', () => {
    assert.deepEqual([...REFUND_STATUSES], ['pending', 'succeeded', 'failed']);
    assert.deepEqual(REFUND_TRANSITIONS, {
      refund_succeeded: { from: 'pending', to: 'succeeded' },
      refund_failed: { from: 'pending', to: 'failed' },
    });
  });

  for (const from of REFUND_STATUSES) {
    for (const to of REFUND_STATUSES) {
      const allowed = EXPECTED_EDGES.has(`${from}>${to}`);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        assert.equal(canTransitionRefund(from, to), allowed);
        if (allowed) {
          assert.doesNotThrow(() => assertRefundTransition(from, to));
        } else {
          assert.throws(
            () => assertRefundTransition(from, to),
            (error: unknown) =>
              error instanceof InvalidStateTransitionError &&
              error instanceof InvalidStateError &&
              error.code === 'invalid_state' &&
              error.machine === 'refund' &&
              error.from === from &&
              error.to === to,
          );
        }
      });
    }
  }

  for (const event of Object.keys(REFUND_TRANSITIONS) as RefundEvent[]) {
    for (const from of REFUND_STATUSES) {
      it(`applies ${event} only while pending (from ${from})`, () => {
        if (from === 'pending') {
          assert.equal(applyRefundEvent(from, event), REFUND_TRANSITIONS[event].to);
        } else {
          assert.throws(() => applyRefundEvent(from, event), InvalidStateTransitionError);
        }
      });
    }
  }

  it('rejects unknown and prototype event names', () => {
    for (const event of ['toString', '__proto__', 'captured']) {
      assert.throws(() => applyRefundEvent('pending', event as RefundEvent), InvalidStateTransitionError, event);
    }
  });

  it('knows the final statuses', () => {
    assert.equal(isTerminalRefundStatus('pending'), false);
    assert.equal(isTerminalRefundStatus('succeeded'), true);
    assert.equal(isTerminalRefundStatus('failed'), true);
  });
});
