/**
 * The state machines exist twice: as tables in code (payment-state.ts, refund-state.ts) and in the database (the
 * payment_status_transitions table read by a trigger, and the refunds trigger). Each status change is tried through
 * the database — every (from, to) pair on a real row, in a transaction rolled back — and the pairs the triggers let
 * through must be exactly the code's edges. The status domains of the CHECK constraints must be the code's too.
 * The bank rail (pending → submitted → settled → returned) has no SQL guard of its own, only its status domain.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { newId } from '../../src/platform/ids.js';
import { BANK_RAIL_STATUSES } from '../../src/platform/db-schema.js';
import {
  PAYMENT_METHODS, PAYMENT_STATUSES, assertTransition, type PaymentMethod, type PaymentStatus,
} from '../../src/modules/payments/payment-state.js';
import { REFUND_STATUSES, applyRefundEvent, type RefundEvent } from '../../src/modules/payments/refund-state.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { legal } from './invariants.js';

const pair = (from: string, to: string) => `${from} → ${to}`;
const sorted = (values: Iterable<string>) => [...values].sort();

// The code's side is read through the state machines' public functions, never their private tables: every
// (from, to) the functions accept. `satisfies` makes the refund event list exhaustive at compile time.
const REFUND_EVENTS = Object.keys({ refund_succeeded: 1, refund_failed: 1 } satisfies Record<RefundEvent, 1>) as RefundEvent[];

function codePaymentEdges(method: PaymentMethod): string[] {
  return PAYMENT_STATUSES.flatMap((from) =>
    PAYMENT_STATUSES.filter((to) => legal(() => assertTransition(method, from, to))).map((to) => pair(from, to)));
}

function codeRefundEdges(): string[] {
  const edges = new Set<string>();
  for (const from of REFUND_STATUSES) {
    for (const event of REFUND_EVENTS) {
      if (legal(() => applyRefundEvent(from, event))) edges.add(pair(from, applyRefundEvent(from, event)));
    }
  }
  return [...edges];
}

/** Literals of the CHECK constraint on `table.column` (e.g. `status IN ('a', 'b')`), read from the catalog. */
async function checkDomain(client: pg.Client, table: string, column: string): Promise<string[]> {
  const { rows } = await client.query<{ def: string }>(
    `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
      WHERE c.conrelid = $1::regclass AND c.contype = 'c' AND array_length(c.conkey, 1) = 1
        AND c.conkey[1] = (SELECT attnum FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2)`,
    [table, column],
  );
  assert.equal(rows.length, 1, `one CHECK constraint on ${table}.${column}`);
  return sorted([...rows[0]!.def.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]!));
}

/** Runs `probe` in a savepoint; true when it went through, false when a trigger refused it with `refusal`. */
async function allowed(client: pg.Client, refusal: RegExp, probe: () => Promise<unknown>): Promise<boolean> {
  await client.query('SAVEPOINT probe');
  try {
    await probe();
    return true;
  } catch (err) {
    // anything but the trigger's refusal means the probe row itself is wrong, not an answer
    if (!refusal.test((err as Error).message)) throw err;
    return false;
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT probe');
  }
}

/** The columns a payment of `method` in `status` needs to satisfy every CHECK constraint. */
function paymentRow(tenantId: string, method: PaymentMethod, status: PaymentStatus): unknown[] {
  const card = method === 'card';
  return [
    newId('payment'), tenantId, method, status, card ? 'manual' : 'automatic', capturedIn(status),
    card ? 'visa' : null, card ? '4242' : null, card ? 12 : null, card ? 2040 : null, card ? 'fp' : null,
    card ? null : 'Jane Doe', card ? null : '110000000', card ? null : '6789', card ? null : 'checking', card ? null : 'fp', card ? null : 'settled',
  ];
}
const capturedIn = (status: string): number => (['processing', 'failed', 'canceled'].includes(status) ? 0 : 1000);

const INSERT_PAYMENT = `INSERT INTO payments (id, tenant_id, method, status, amount, currency, capture_method, amount_capturable, amount_captured,
  failure_code, card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint,
  bank_account_holder, bank_routing_number, bank_account_last4, bank_account_type, bank_fingerprint, rail_status)
  VALUES ($1, $2, $3, $4, 1000, 'usd', $5, 1000, $6, 'probe', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`;

describe('the SQL transition tables equal the code tables', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let tenantId: string;
  before(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.ownerUrl });
    await client.connect();
    tenantId = newId('tenant');
    await client.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Transition probe')`, [tenantId]);
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  it('payments, refunds and the bank rail have the code\'s statuses and methods in their CHECK constraints', async () => {
    assert.deepEqual(await checkDomain(client, 'payments', 'status'), sorted(PAYMENT_STATUSES));
    assert.deepEqual(await checkDomain(client, 'payments', 'method'), sorted(PAYMENT_METHODS));
    assert.deepEqual(await checkDomain(client, 'payments', 'rail_status'), sorted(BANK_RAIL_STATUSES));
    assert.deepEqual(await checkDomain(client, 'refunds', 'status'), sorted(REFUND_STATUSES));
  });

  it('payment_status_transitions holds exactly the code\'s edges, and the application role cannot change it', async () => {
    const { rows } = await client.query<{ method: string; from_status: string; to_status: string }>('SELECT method, from_status, to_status FROM payment_status_transitions');
    const sql = rows.map((r) => `${r.method}: ${pair(r.from_status, r.to_status)}`);
    const code = PAYMENT_METHODS.flatMap((m) => codePaymentEdges(m).map((edge) => `${m}: ${edge}`));
    assert.ok(code.length > 0);
    assert.deepEqual(sorted(sql), sorted(code));
    const app = new pg.Client({ connectionString: db.appUrl });
    await app.connect();
    try {
      await assert.rejects(app.query(`INSERT INTO payment_status_transitions VALUES ('card', 'failed', 'succeeded')`), /permission denied/);
      await assert.rejects(app.query(`DELETE FROM payment_status_transitions`), /permission denied/);
    } finally {
      await app.end();
    }
  });

  for (const method of PAYMENT_METHODS) {
    it(`${method}: the payments trigger lets through exactly the code's status changes`, async () => {
      const through: string[] = [];
      await client.query('BEGIN');
      try {
        for (const from of PAYMENT_STATUSES) {
          for (const to of PAYMENT_STATUSES) {
            if (from === to) continue;
            const ok = await allowed(client, /illegal payment transition/, async () => {
              const row = paymentRow(tenantId, method, from);
              await client.query(INSERT_PAYMENT, row);
              await client.query('UPDATE payments SET status = $2, amount_captured = $3 WHERE id = $1', [row[0], to, capturedIn(to)]);
            });
            if (ok) through.push(pair(from, to));
          }
        }
      } finally {
        await client.query('ROLLBACK');
      }
      assert.deepEqual(sorted(through), sorted(codePaymentEdges(method)));
    });
  }

  it('refunds: the refunds trigger lets through exactly the code\'s status changes', async () => {
    const through: string[] = [];
    await client.query('BEGIN');
    try {
      const payment = paymentRow(tenantId, 'card', 'succeeded');
      await client.query(INSERT_PAYMENT, payment);
      for (const from of REFUND_STATUSES) {
        for (const to of REFUND_STATUSES) {
          if (from === to) continue;
          const ok = await allowed(client, /illegal refund transition/, async () => {
            const id = newId('refund');
            await client.query(
              `INSERT INTO refunds (id, tenant_id, payment_id, amount, currency, status, failure_code) VALUES ($1, $2, $3, 100, 'usd', $4, 'probe')`,
              [id, tenantId, payment[0], from],
            );
            await client.query('UPDATE refunds SET status = $2 WHERE id = $1', [id, to]);
          });
          if (ok) through.push(pair(from, to));
        }
      }
    } finally {
      await client.query('ROLLBACK');
    }
    assert.deepEqual(sorted(through), sorted(codeRefundEdges()));
  });
});
