/**
 * The payments update trigger (enforce_payment_transition) is the database's net behind the state machine and the
 * keeper of updated_at. Through real UPDATEs on real rows: it refuses a status change the transition table does not
 * list and any change of method, amount, currency or tenant; it moves updated_at on a status change and on any other
 * change of the payment (NULL to a value, a value to NULL, jsonb metadata), also when a bookkeeping column changes
 * in the same statement; and it leaves updated_at alone when only the bookkeeping moves (a rail poll rescheduled,
 * the attention flag, the backoff step) or when an UPDATE writes the values the row already has.
 * Every probe row starts with updated_at in 2001, so "moved" is visible without waiting for the clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { newId } from '../../src/platform/ids.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const LONG_AGO = new Date('2001-02-03T04:05:06.000Z');

describe('payments update trigger', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let tenantId: string;
  let otherTenantId: string;

  before(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.ownerUrl });
    await client.connect();
    tenantId = newId('tenant');
    otherTenantId = newId('tenant');
    await client.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Trigger probe'), ($2, 'Other tenant')`, [tenantId, otherTenantId]);
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  async function cardPayment(status: 'processing' | 'requires_capture' | 'succeeded' = 'processing'): Promise<string> {
    const id = newId('payment');
    const captured = status === 'succeeded' ? 1500 : 0;
    const capturable = status === 'requires_capture' ? 1500 : 0;
    await client.query(
      `INSERT INTO payments (id, tenant_id, method, status, amount, currency, capture_method, amount_capturable, amount_captured,
                             card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint, metadata, created_at, updated_at)
       VALUES ($1, $2, 'card', $3, 1500, 'usd', 'manual', $4, $5, 'visa', '4242', 12, 2040, 'fp', '{"order": "A-1"}', $6, $6)`,
      [id, tenantId, status, capturable, captured, LONG_AGO],
    );
    return id;
  }

  async function bankTransfer(): Promise<string> {
    const id = newId('payment');
    await client.query(
      `INSERT INTO payments (id, tenant_id, method, status, amount, currency, capture_method, amount_captured,
                             bank_account_holder, bank_routing_number, bank_account_last4, bank_account_type, bank_fingerprint,
                             rail_status, rail_next_poll_at, created_at, updated_at)
       VALUES ($1, $2, 'bank_transfer', 'succeeded', 2500, 'usd', 'automatic', 2500, 'Jane Doe', '110000000', '6789', 'checking', 'fp',
               'settled', $3, $3, $3)`,
      [id, tenantId, LONG_AGO],
    );
    return id;
  }

  async function updatedAt(id: string): Promise<Date> {
    const { rows } = await client.query<{ updated_at: Date }>('SELECT updated_at FROM payments WHERE id = $1', [id]);
    return rows[0]!.updated_at;
  }

  /** Runs the UPDATE and answers whether it moved updated_at (the row must exist and the UPDATE must touch it). */
  async function moves(id: string, set: string, params: unknown[] = []): Promise<boolean> {
    const res = await client.query(`UPDATE payments SET ${set} WHERE id = $1`, [id, ...params]);
    assert.equal(res.rowCount, 1, `the UPDATE touched the row (${set})`);
    const { rows } = await client.query<{ updated_at: Date; recent: boolean }>(
      `SELECT updated_at, updated_at BETWEEN now() - interval '1 hour' AND now() AS recent FROM payments WHERE id = $1`, [id]);
    if (rows[0]!.updated_at.getTime() === LONG_AGO.getTime()) return false;
    assert.equal(rows[0]!.recent, true, 'a moved updated_at is the time of the change');
    return true;
  }

  it('refuses a status change the transition table does not list, and changes nothing', async () => {
    const id = await cardPayment('succeeded');
    await assert.rejects(
      client.query(`UPDATE payments SET status = 'processing', amount_captured = 0 WHERE id = $1`, [id]),
      (err: Error & { code?: string }) => err.code === '23514' && /illegal payment transition succeeded -> processing for card/.test(err.message),
    );
    const { rows } = await client.query('SELECT status, amount_captured, updated_at FROM payments WHERE id = $1', [id]);
    assert.deepEqual(rows[0], { status: 'succeeded', amount_captured: '1500', updated_at: LONG_AGO });
  });

  it('refuses a change of method, amount, currency or tenant', async () => {
    const id = await cardPayment();
    for (const [set, params] of [
      ['amount = 1600', []],
      [`currency = 'eur'`, []],
      ['tenant_id = $2', [otherTenantId]],
      [`method = 'bank_transfer', card_last4 = NULL, bank_account_holder = 'J', bank_routing_number = '110000000',
        bank_account_last4 = '6789', bank_account_type = 'checking', bank_fingerprint = 'fp', rail_status = 'pending'`, []],
    ] as const) {
      await assert.rejects(
        client.query(`UPDATE payments SET ${set} WHERE id = $1`, [id, ...params]),
        /payment method, amount, currency and tenant are immutable/,
        set,
      );
    }
    assert.equal((await updatedAt(id)).getTime(), LONG_AGO.getTime());
  });

  it('moves updated_at on a listed status change', async () => {
    const id = await cardPayment();
    assert.equal(await moves(id, `status = 'succeeded', amount_captured = 1500, processor_reference = 'auth_1'`), true);
    const capture = await cardPayment('requires_capture');
    assert.equal(await moves(capture, `status = 'canceled', amount_capturable = 0`), true);
  });

  it('moves updated_at on any other change of the payment', async () => {
    const id = await cardPayment();
    assert.equal(await moves(id, `description = 'first description'`), true, 'NULL to a value');
    await client.query('UPDATE payments SET updated_at = $2 WHERE id = $1', [id, LONG_AGO]);
    assert.equal(await updatedAt(id).then((d) => d.getTime()), LONG_AGO.getTime(), 'setting updated_at alone is bookkeeping too');
    assert.equal(await moves(id, 'description = NULL'), true, 'a value to NULL');
    await client.query('UPDATE payments SET updated_at = $2 WHERE id = $1', [id, LONG_AGO]);
    assert.equal(await moves(id, `metadata = '{"order": "A-2"}'`), true, 'jsonb metadata');
    await client.query('UPDATE payments SET updated_at = $2 WHERE id = $1', [id, LONG_AGO]);
    assert.equal(await moves(id, `processor_reference = 'auth_2', rail_next_poll_at = now()`), true, 'a change together with bookkeeping');
  });

  it('leaves updated_at alone when only the bookkeeping moves, or nothing does', async () => {
    const card = await cardPayment();
    assert.equal(await moves(card, `description = NULL, metadata = '{"order":"A-1"}'`), false, 'the values it already has');
    const transfer = await bankTransfer();
    assert.equal(await moves(transfer, `rail_next_poll_at = now() + interval '1 hour'`), false, 'a rail poll rescheduled');
    assert.equal(await moves(transfer, 'rail_next_poll_at = NULL'), false, 'a rail poll no longer needed');
    assert.equal(
      await moves(transfer, `attention_reason = 'processor_lost_debit', attention_since = now(), rail_poll_backoff_step = 3`),
      false,
      'the attention flag and the backoff step',
    );
    assert.equal(await moves(transfer, 'attention_reason = NULL, attention_since = NULL, rail_poll_backoff_step = 0'), false, 'the flag cleared');
    assert.equal(await moves(transfer, `rail_status = 'returned', return_code = 'R01'`), true, 'a rail status change is a change');
  });
});
