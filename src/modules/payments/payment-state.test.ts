import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BANK_RAIL_STATUSES } from '../../platform/db-schema.js';
import {
  InvalidStateError,
  InvalidStateTransitionError,
  PAYMENT_METHODS,
  PAYMENT_STATUSES,
  applyBankRailEvent,
  applyPaymentEvent,
  assertOperationAllowed,
  assertTransition,
  type BankRailEvent,
  type BankRailStatus,
  type PaymentEventFor,
  type PaymentMethod,
  type PaymentOperation,
  type PaymentStatus,
} from './payment-state.js';

// The expected answers are written out by hand and the module is exercised only through its public functions:
// adding or removing an edge must break one of these tests. The `satisfies` types make the lists exhaustive at
// compile time: an event the module gains or loses is a type error here until this table says what it does.
type Edge = `${PaymentStatus}>${PaymentStatus}`;
const EXPECTED_EVENTS = {
  card: {
    authorized: 'processing>requires_capture',
    authorized_and_captured: 'processing>succeeded',
    authorization_failed: 'processing>failed',
    captured: 'requires_capture>succeeded',
    voided: 'requires_capture>canceled',
    authorization_expired: 'requires_capture>canceled',
  },
  bank_transfer: {
    settled: 'processing>succeeded',
    returned_before_settlement: 'processing>failed',
    canceled_before_submission: 'processing>canceled',
    returned_after_settlement: 'succeeded>reversed',
  },
} as const satisfies { [M in PaymentMethod]: Record<PaymentEventFor<M>, Edge> };

const eventsOf = (method: PaymentMethod): Array<[PaymentEventFor<PaymentMethod>, Edge]> =>
  Object.entries(EXPECTED_EVENTS[method]) as Array<[PaymentEventFor<PaymentMethod>, Edge]>;
const EXPECTED_EDGES: Record<PaymentMethod, ReadonlySet<string>> = {
  card: new Set(eventsOf('card').map(([, edge]) => edge)),
  bank_transfer: new Set(eventsOf('bank_transfer').map(([, edge]) => edge)),
};
const OPERATIONS = Object.keys({ capture: 1, cancel: 1, refund: 1 } satisfies Record<PaymentOperation, 1>) as PaymentOperation[];

describe('payment statuses and methods', () => {
  it('are the documented lists', () => {
    assert.deepEqual(
      [...PAYMENT_STATUSES],
      ['processing', 'requires_capture', 'succeeded', 'failed', 'canceled', 'reversed'],
    );
    assert.deepEqual([...PAYMENT_METHODS], ['card', 'bank_transfer']);
  });
});

describe('assertTransition: every (method, from, to)', () => {
  for (const method of PAYMENT_METHODS) {
    for (const from of PAYMENT_STATUSES) {
      for (const to of PAYMENT_STATUSES) {
        const allowed = EXPECTED_EDGES[method].has(`${from}>${to}`);
        it(`${method}: ${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
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

  it('leaves failed, canceled and reversed by no edge', () => {
    for (const method of PAYMENT_METHODS) {
      for (const edge of EXPECTED_EDGES[method]) assert.ok(!['failed', 'canceled', 'reversed'].includes(edge.split('>')[0] ?? ''), edge);
    }
  });
});

describe('applyPaymentEvent: every (method, event, from)', () => {
  for (const method of PAYMENT_METHODS) {
    for (const [event, edge] of eventsOf(method)) {
      const [edgeFrom, edgeTo] = edge.split('>') as [PaymentStatus, PaymentStatus];
      for (const from of PAYMENT_STATUSES) {
        it(`${method}: ${String(event)} while ${from}`, () => {
          if (from === edgeFrom) {
            assert.equal(applyPaymentEvent(method, from, event), edgeTo);
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

describe('operations: every (method, status, operation)', () => {
  const EXPECTED: Record<PaymentMethod, ReadonlySet<string>> = {
    card: new Set(['requires_capture:capture', 'requires_capture:cancel', 'succeeded:refund']),
    bank_transfer: new Set(['processing:cancel', 'succeeded:refund']),
  };
  for (const method of PAYMENT_METHODS) {
    for (const status of PAYMENT_STATUSES) {
      it(`${method} ${status}`, () => {
        for (const operation of OPERATIONS) {
          if (EXPECTED[method].has(`${status}:${operation}`)) {
            assert.doesNotThrow(() => assertOperationAllowed(method, status, operation));
          } else {
            assert.throws(
              () => assertOperationAllowed(method, status, operation),
              (error: unknown) =>
                error instanceof InvalidStateError &&
                error.name === 'OperationNotAllowedError' &&
                error.code === 'invalid_state' &&
                'status' in error && error.status === status &&
                'operation' in error && error.operation === operation,
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
  const EXPECTED: Record<BankRailStatus, Record<BankRailEvent, Expected>> = {
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

  it('has the documented statuses', () => {
    assert.deepEqual([...BANK_RAIL_STATUSES], ['pending', 'submitted', 'settled', 'returned', 'canceled']);
  });

  for (const status of BANK_RAIL_STATUSES) {
    for (const event of Object.keys(EXPECTED[status]) as BankRailEvent[]) {
      const expected = EXPECTED[status][event];
      it(`${event} while ${status} → ${expected}`, () => {
        const result = applyBankRailEvent(status, event);
        const actual =
          result.outcome === 'transition' ? `→${result.to}:${result.paymentEvent ?? '-'}` : result.outcome;
        assert.equal(actual, expected);
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
    for (const from of BANK_RAIL_STATUSES) {
      for (const event of Object.keys(EXPECTED[from]) as BankRailEvent[]) {
        const edge = applyBankRailEvent(from, event);
        if (edge.outcome !== 'transition') continue;
        const paymentBefore = impliedBefore[from];
        assert.ok(paymentBefore, `${from} is not a starting point`);
        if (edge.paymentEvent === null) {
          assert.equal(impliedBefore[edge.to], paymentBefore, 'a silent rail step must not change payment status');
          continue;
        }
        const paymentAfter = applyPaymentEvent('bank_transfer', paymentBefore, edge.paymentEvent);
        const expectedAfter =
          edge.to === 'returned' ? (from === 'settled' ? 'reversed' : 'failed') : edge.to === 'settled' ? 'succeeded' : 'canceled';
        assert.equal(paymentAfter, expectedAfter, `${from} -${event}-> ${edge.to}`);
      }
    }
  });

  it('leaves returned and canceled by no rail event', () => {
    for (const status of ['returned', 'canceled'] as const) {
      for (const event of Object.keys(EXPECTED[status]) as BankRailEvent[]) {
        assert.notEqual(applyBankRailEvent(status, event).outcome, 'transition', `${event} while ${status}`);
      }
    }
  });
});
