import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BANK_RAIL_EVENTS,
  BANK_RAIL_STATUSES,
  BANK_RAIL_TRANSITIONS,
  InvalidStateError,
  InvalidStateTransitionError,
  OperationNotAllowedError,
  PAYMENT_METHODS,
  PAYMENT_OPERATIONS,
  PAYMENT_STATUSES,
  PAYMENT_TRANSITIONS,
  allowedOperations,
  applyBankRailEvent,
  applyPaymentEvent,
  assertBankRailEvent,
  assertOperationAllowed,
  assertTransition,
  canPerformOperation,
  canTransition,
  isTerminal,
  isTerminalBankRailStatus,
  paymentEventsFor,
  type BankRailStatus,
  type PaymentEventFor,
  type PaymentMethod,
  type PaymentStatus,
} from './payment-state.js';

// The expected answers are written out by hand, not derived from the module: adding or removing an edge
// in the table must break one of these tests.
const EXPECTED_EDGES: Record<PaymentMethod, ReadonlySet<string>> = {
  card: new Set([
    'processing>requires_capture',
    'processing>succeeded',
    'processing>failed',
    'requires_capture>succeeded',
    'requires_capture>canceled',
  ]),
  bank_transfer: new Set([
    'processing>succeeded',
    'processing>failed',
    'processing>canceled',
    'succeeded>reversed',
  ]),
};

describe('payment statuses and methods', () => {
  it('are the documented lists', () => {
    assert.deepEqual(
      [...PAYMENT_STATUSES],
      ['processing', 'requires_capture', 'succeeded', 'failed', 'canceled', 'reversed'],
    );
    assert.deepEqual([...PAYMENT_METHODS], ['card', 'bank_transfer']);
  });
});

describe('canTransition / assertTransition: every (method, from, to)', () => {
  for (const method of PAYMENT_METHODS) {
    for (const from of PAYMENT_STATUSES) {
      for (const to of PAYMENT_STATUSES) {
        const allowed = EXPECTED_EDGES[method].has(`${from}>${to}`);
        it(`${method}: ${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
          assert.equal(canTransition(method, from, to), allowed);
          if (allowed) {
            assert.doesNotThrow(() => assertTransition(method, from, to));
          } else {
            assert.throws(
              () => assertTransition(method, from, to),
              (error: unknown) =>
                error instanceof InvalidStateTransitionError &&
                error instanceof InvalidStateError &&
                error.code === 'invalid_state' &&
                error.machine === 'payment' &&
                error.from === from &&
                error.to === to,
            );
          }
        });
      }
    }
  }
});

describe('PAYMENT_TRANSITIONS', () => {
  it('names each edge by its event, exactly', () => {
    assert.deepEqual(PAYMENT_TRANSITIONS, {
      card: {
        authorized: { from: 'processing', to: 'requires_capture' },
        authorized_and_captured: { from: 'processing', to: 'succeeded' },
        authorization_failed: { from: 'processing', to: 'failed' },
        captured: { from: 'requires_capture', to: 'succeeded' },
        voided: { from: 'requires_capture', to: 'canceled' },
        authorization_expired: { from: 'requires_capture', to: 'canceled' },
      },
      bank_transfer: {
        settled: { from: 'processing', to: 'succeeded' },
        returned_before_settlement: { from: 'processing', to: 'failed' },
        canceled_before_submission: { from: 'processing', to: 'canceled' },
        returned_after_settlement: { from: 'succeeded', to: 'reversed' },
      },
    });
  });

  it('has no self-loops and no edge out of failed, canceled or reversed', () => {
    for (const method of PAYMENT_METHODS) {
      for (const edge of Object.values(PAYMENT_TRANSITIONS[method]) as { from: string; to: string }[]) {
        assert.notEqual(edge.from, edge.to);
        assert.ok(!['failed', 'canceled', 'reversed'].includes(edge.from));
      }
    }
  });
});

describe('applyPaymentEvent: every (method, event, from)', () => {
  for (const method of PAYMENT_METHODS) {
    const events = paymentEventsFor(method) as PaymentEventFor<PaymentMethod>[];
    for (const event of events) {
      const edge = (PAYMENT_TRANSITIONS[method] as Record<string, { from: PaymentStatus; to: PaymentStatus }>)[
        event
      ];
      for (const from of PAYMENT_STATUSES) {
        it(`${method}: ${String(event)} while ${from}`, () => {
          assert.ok(edge);
          if (from === edge.from) {
            assert.equal(applyPaymentEvent(method, from, event), edge.to);
          } else {
            assert.throws(
              () => applyPaymentEvent(method, from, event),
              (error: unknown) =>
                error instanceof InvalidStateTransitionError && error.from === from && error.event === event,
            );
          }
        });
      }
    }
  }

  it('rejects an event of the other method and unknown or prototype event names', () => {
    const bad = ['captured', 'toString', '__proto__', 'nope'];
    for (const event of bad) {
      assert.throws(
        () => applyPaymentEvent('bank_transfer', 'requires_capture', event as never),
        InvalidStateTransitionError,
        event,
      );
    }
    assert.throws(() => applyPaymentEvent('card', 'processing', 'settled' as never), InvalidStateTransitionError);
  });

  it('gives a readable, Stripe-like message', () => {
    assert.throws(() => assertTransition('card', 'succeeded', 'canceled'), {
      message: 'The payment cannot move from succeeded to canceled.',
    });
  });
});

describe('isTerminal', () => {
  const expected: Record<PaymentStatus, [any: boolean, card: boolean, bank: boolean]> = {
    processing: [false, false, false],
    requires_capture: [false, false, true], // never reached by a bank transfer
    succeeded: [false, true, false], // a bank transfer can still be reversed
    failed: [true, true, true],
    canceled: [true, true, true],
    reversed: [true, true, true],
  };
  for (const status of PAYMENT_STATUSES) {
    it(status, () => {
      const [any, card, bank] = expected[status];
      assert.equal(isTerminal(status), any);
      assert.equal(isTerminal(status, 'card'), card);
      assert.equal(isTerminal(status, 'bank_transfer'), bank);
    });
  }
});

describe('operations: every (method, status, operation)', () => {
  const EXPECTED: Record<PaymentMethod, ReadonlySet<string>> = {
    card: new Set(['requires_capture:capture', 'requires_capture:cancel', 'succeeded:refund']),
    bank_transfer: new Set(['processing:cancel', 'succeeded:refund']),
  };
  for (const method of PAYMENT_METHODS) {
    for (const status of PAYMENT_STATUSES) {
      it(`${method} ${status}`, () => {
        const expected = PAYMENT_OPERATIONS.filter((op) => EXPECTED[method].has(`${status}:${op}`));
        assert.deepEqual(allowedOperations(method, status), expected);
        for (const operation of PAYMENT_OPERATIONS) {
          const allowed = EXPECTED[method].has(`${status}:${operation}`);
          assert.equal(canPerformOperation(method, status, operation), allowed, operation);
          if (allowed) {
            assert.doesNotThrow(() => assertOperationAllowed(method, status, operation));
          } else {
            assert.throws(
              () => assertOperationAllowed(method, status, operation),
              (error: unknown) =>
                error instanceof OperationNotAllowedError &&
                error instanceof InvalidStateError &&
                error.code === 'invalid_state' &&
                error.status === status &&
                error.operation === operation,
            );
          }
        }
      });
    }
  }

  it('explains the required status', () => {
    assert.throws(() => assertOperationAllowed('card', 'succeeded', 'capture'), {
      message: "This payment's status is succeeded, but must be requires_capture to capture.",
    });
    assert.throws(() => assertOperationAllowed('bank_transfer', 'processing', 'capture'), {
      message: 'A bank transfer payment cannot be captured.',
    });
  });

  it('each operation that changes status does so through a legal edge', () => {
    assert.equal(applyPaymentEvent('card', 'requires_capture', 'captured'), 'succeeded');
    assert.equal(applyPaymentEvent('card', 'requires_capture', 'voided'), 'canceled');
    assert.equal(applyPaymentEvent('bank_transfer', 'processing', 'canceled_before_submission'), 'canceled');
  });
});

describe('bank rail', () => {
  type Expected = `→${BankRailStatus}:${string}` | 'duplicate' | 'ignored' | 'invalid';
  // Rows: current rail status. Columns: incoming event. Written out in full on purpose.
  const EXPECTED: Record<BankRailStatus, Record<(typeof BANK_RAIL_EVENTS)[number], Expected>> = {
    pending: {
      submitted: '→submitted:-',
      settled: 'invalid',
      returned: 'invalid',
      canceled: '→canceled:canceled_before_submission',
    },
    submitted: {
      submitted: 'duplicate',
      settled: '→settled:settled',
      returned: '→returned:returned_before_settlement',
      canceled: 'invalid', // too late: the client's cancel gets a 409
    },
    settled: {
      submitted: 'ignored',
      settled: 'duplicate',
      returned: '→returned:returned_after_settlement',
      canceled: 'invalid',
    },
    returned: {
      submitted: 'ignored',
      settled: 'ignored', // a returned transfer never settles
      returned: 'duplicate',
      canceled: 'invalid',
    },
    canceled: {
      submitted: 'invalid',
      settled: 'invalid',
      returned: 'invalid',
      canceled: 'duplicate',
    },
  };

  it('has the documented statuses and events', () => {
    assert.deepEqual([...BANK_RAIL_STATUSES], ['pending', 'submitted', 'settled', 'returned', 'canceled']);
    assert.deepEqual([...BANK_RAIL_EVENTS], ['submitted', 'settled', 'returned', 'canceled']);
  });

  for (const status of BANK_RAIL_STATUSES) {
    for (const event of BANK_RAIL_EVENTS) {
      const expected = EXPECTED[status][event];
      it(`${event} while ${status} → ${expected}`, () => {
        const result = applyBankRailEvent(status, event);
        const actual =
          result.outcome === 'transition' ? `→${result.to}:${result.paymentEvent ?? '-'}` : result.outcome;
        assert.equal(actual, expected);
        if (result.outcome === 'invalid') {
          assert.throws(
            () => assertBankRailEvent(status, event),
            (error: unknown) =>
              error instanceof InvalidStateTransitionError && error.machine === 'bank_rail' && error.from === status,
          );
        } else {
          assert.deepEqual(assertBankRailEvent(status, event), result);
        }
        if (result.outcome === 'ignored') assert.ok(result.reason.length > 0);
      });
    }
  }

  it('maps every rail transition onto the payment machine consistently', () => {
    // Payment status implied by a rail status; a return's meaning depends on whether it had settled.
    const impliedBefore: Record<BankRailStatus, PaymentStatus | undefined> = {
      pending: 'processing',
      submitted: 'processing',
      settled: 'succeeded',
      returned: undefined,
      canceled: undefined,
    };
    for (const edge of BANK_RAIL_TRANSITIONS) {
      const paymentBefore = impliedBefore[edge.from];
      assert.ok(paymentBefore, `${edge.from} is not a starting point`);
      if (edge.paymentEvent === null) {
        assert.equal(impliedBefore[edge.to], paymentBefore, 'a silent rail step must not change payment status');
        continue;
      }
      const paymentAfter = applyPaymentEvent('bank_transfer', paymentBefore, edge.paymentEvent);
      const expectedAfter =
        edge.to === 'returned' ? (edge.from === 'settled' ? 'reversed' : 'failed') : edge.to === 'settled' ? 'succeeded' : 'canceled';
      assert.equal(paymentAfter, expectedAfter, `${edge.from} -${edge.event}-> ${edge.to}`);
    }
  });

  it('knows which rail statuses are final', () => {
    assert.deepEqual(
      BANK_RAIL_STATUSES.filter((status) => isTerminalBankRailStatus(status)),
      ['returned', 'canceled'],
    );
  });
});
