import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ownerQuery, post } from '../payments/helpers.js';
import {
  ACCOUNTS, FOREIGN_ROUTING, bankBody, createTransfer, eventTypes, getPayment, history, notificationCount, waitForTransfer,
} from './helpers.js';

// The sandbox rail end to end through signed notifications only: polling is pushed out of reach (expected
// settlement and poll interval of 10 minutes), so every rail change seen here came in through
// POST /v1/processor_notifications/sandbox.

describe('bank transfers: the sandbox account table end to end (notifications)', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let other: TestTenant;
  before(async () => {
    platform = await startTestPlatform({
      worker: true,
      // The cancel window and the gap before a late return are what a test acts within (a cancel right after the
      // create, a refund right after the settlement): wide enough that a busy machine's stall cannot close them.
      env: {
        BANK_TRANSFER_SUBMIT_DELAY_MS: '3000',
        SANDBOX_SETTLEMENT_DELAY_MS: '400',
        SANDBOX_LATE_RETURN_DELAY_MS: '6000',
        BANK_EXPECTED_SETTLEMENT_MS: '600000',
        BANK_RAIL_POLL_INTERVAL_MS: '600000',
      },
    });
    tenant = await createTenant(platform);
    other = await createTenant(platform, { name: 'Other Corp' });
  });
  after(async () => platform?.close());

  it('000123456789 settles: processing → succeeded, rail pending → submitted → settled', async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.settles);
    assert.equal(created.payment_method.bank_account.last4, '6789');
    assert.equal(JSON.stringify(created).includes(ACCOUNTS.settles), false);
    const done = await waitForTransfer(platform, tenant.token, created.id, { status: 'succeeded' });
    assert.equal(done.bank_transfer.rail_status, 'settled');
    assert.equal(done.bank_transfer.return_code, null);
    assert.ok(done.bank_transfer.submitted_at && done.bank_transfer.settled_at && done.bank_transfer.expected_settlement_at);
    assert.equal(done.bank_transfer.returned_at, null);
    assert.equal(done.amount_captured, 10_000);
    assert.equal(done.amount_settled, 10_000);
    assert.equal(done.amount_reversed, 0);
    assert.deepEqual(history(done), ['processing/pending', 'processing/submitted', 'succeeded/settled']);
    const debits = done.attempts.filter((a: { operation: string }) => a.operation === 'bank_debit');
    assert.equal(debits.length, 1);
    assert.equal(debits[0].status, 'succeeded');
    assert.match(debits[0].processor_reference, /^bd_/);
    assert.deepEqual(await eventTypes(platform, tenant.token, created.id), ['payment.processing', 'payment.updated', 'payment.succeeded']);
    // The encrypted account number is gone once the rail has the account.
    const [row] = await ownerQuery<{ enc: string | null }>(platform, 'SELECT bank_account_number_enc AS enc FROM payments WHERE id = $1', [created.id]);
    assert.equal(row!.enc, null);
  });

  for (const [account, code, failureCode] of [[ACCOUNTS.r01, 'R01', 'insufficient_funds'], [ACCOUNTS.r03, 'R03', 'no_account']] as const) {
    it(`${account} is returned before settlement with ${code}: failed, rail returned`, async () => {
      const created = await createTransfer(platform, tenant.token, account);
      const done = await waitForTransfer(platform, tenant.token, created.id, { status: 'failed' });
      assert.equal(done.bank_transfer.rail_status, 'returned');
      assert.equal(done.bank_transfer.return_code, code);
      assert.ok(done.bank_transfer.return_reason);
      assert.ok(done.bank_transfer.returned_at);
      assert.equal(done.bank_transfer.settled_at, null);
      assert.equal(done.failure_code, failureCode);
      assert.equal(done.amount_captured, 0);
      assert.equal(done.amount_settled, 0);
      assert.deepEqual(history(done), ['processing/pending', 'processing/submitted', 'failed/returned']);
      assert.deepEqual(await eventTypes(platform, tenant.token, created.id), ['payment.processing', 'payment.updated', 'payment.failed']);
    });
  }

  it('000222222227 settles, then a late R10 return reverses it; a partial refund made in between stays credited', async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.lateR10);
    const settled = await waitForTransfer(platform, tenant.token, created.id, { status: 'succeeded' });
    assert.equal(settled.bank_transfer.rail_status, 'settled');

    const refund = await post(platform, tenant.token, `/v1/payments/${created.id}/refunds`, { amount: 2_500 });
    assert.equal(refund.status, 201, refund.text);
    assert.equal(refund.body.status, 'succeeded');

    const done = await waitForTransfer(platform, tenant.token, created.id, { status: 'reversed' });
    assert.equal(done.bank_transfer.rail_status, 'returned');
    assert.equal(done.bank_transfer.return_code, 'R10');
    assert.ok(done.bank_transfer.settled_at && done.bank_transfer.returned_at);
    assert.equal(done.failure_code, null);
    // Money view: the whole debit came back; the refund already credited stays counted.
    assert.equal(done.amount_captured, 10_000);
    assert.equal(done.amount_reversed, 10_000);
    assert.equal(done.amount_refunded, 2_500);
    assert.equal(done.amount_settled, 0);
    assert.deepEqual(history(done), ['processing/pending', 'processing/submitted', 'succeeded/settled', 'reversed/returned']);
    assert.deepEqual(await eventTypes(platform, tenant.token, created.id), ['payment.processing', 'payment.updated', 'payment.succeeded', 'payment.reversed']);

    const late = await post(platform, tenant.token, `/v1/payments/${created.id}/refunds`, { amount: 100 });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.error.code, 'invalid_state');
  });

  it('a refund of a settled transfer is a credit back to the account', async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.settles, { amount: 4_000 });
    await waitForTransfer(platform, tenant.token, created.id, { status: 'succeeded' });
    const refund = await post(platform, tenant.token, `/v1/payments/${created.id}/refunds`, {});
    assert.equal(refund.status, 201, refund.text);
    assert.equal(refund.body.status, 'succeeded');
    assert.equal(refund.body.amount, 4_000);
    const after = await getPayment(platform, tenant.token, created.id);
    assert.equal(after.amount_refunded, 4_000);
    const credit = after.attempts.find((a: { operation: string }) => a.operation === 'bank_credit');
    assert.equal(credit.status, 'succeeded');
    assert.match(credit.processor_reference, /^bc_/);
    const more = await post(platform, tenant.token, `/v1/payments/${created.id}/refunds`, { amount: 1 });
    assert.equal(more.status, 409, more.text);
  });

  it('a refund before settlement is refused (409)', async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.settles);
    const res = await post(platform, tenant.token, `/v1/payments/${created.id}/refunds`, {});
    assert.equal(res.status, 409, res.text);
  });

  it('cancel before submission: 200 canceled, never submitted, account number erased', async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.settles);
    const res = await post(platform, tenant.token, `/v1/payments/${created.id}/cancel`, {});
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'canceled');
    assert.equal(res.body.bank_transfer.rail_status, 'canceled');
    // A transfer created after it gets submitted: the worker's submission pass has gone past the canceled one's due
    // time, and must have left it alone.
    const probe = await createTransfer(platform, tenant.token, ACCOUNTS.settles);
    await waitForTransfer(platform, tenant.token, probe.id, { rail: 'submitted' });
    const after = await getPayment(platform, tenant.token, created.id);
    assert.equal(after.status, 'canceled');
    assert.equal(after.attempts.length, 0);
    assert.deepEqual(history(after), ['processing/pending', 'canceled/canceled']);
    const [row] = await ownerQuery<{ enc: string | null }>(platform, 'SELECT bank_account_number_enc AS enc FROM payments WHERE id = $1', [created.id]);
    assert.equal(row!.enc, null);
    assert.deepEqual(await eventTypes(platform, tenant.token, created.id), ['payment.processing', 'payment.canceled']);
  });

  it('cancel after submission is refused with 409 and changes nothing', async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.lateR10);
    const submitted = await waitForTransfer(platform, tenant.token, created.id, { rail: 'submitted' });
    const res = await post(platform, tenant.token, `/v1/payments/${created.id}/cancel`, {});
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.error.code, 'invalid_state');
    const after = await getPayment(platform, tenant.token, created.id);
    assert.notEqual(after.status, 'canceled');
    assert.equal(history(after).length >= history(submitted).length, true);
    assert.equal(history(after).some((h) => h.startsWith('canceled')), false);
    await waitForTransfer(platform, tenant.token, created.id, { status: 'succeeded' });
  });

  it('an ABA-valid routing number the rail does not serve: declined at submission, failed invalid_routing_number', async () => {
    const res = await post(platform, tenant.token, '/v1/payments', bankBody(ACCOUNTS.settles, {}, { routing_number: FOREIGN_ROUTING }));
    assert.equal(res.status, 201, res.text);
    const done = await waitForTransfer(platform, tenant.token, res.body.id, { status: 'failed' });
    assert.equal(done.failure_code, 'invalid_routing_number');
    assert.equal(done.bank_transfer.rail_status, 'pending');
    assert.equal(done.bank_transfer.submitted_at, null);
    assert.deepEqual(history(done), ['processing/pending', 'failed/pending']);
    assert.equal(done.attempts[0].status, 'failed');
    assert.deepEqual(await eventTypes(platform, tenant.token, res.body.id), ['payment.processing', 'payment.failed']);
  });

  it('invalid routing or account numbers and non-USD are 400 with nothing written', async () => {
    // A tenant of its own: the transfers of earlier tests are still moving on the rail and writing rows.
    const fresh = await createTenant(platform, { name: 'Validation Corp' });
    const tables = ['payments', 'payment_attempts', 'payment_transitions', 'events'];
    const count = () => Promise.all(tables.map(async (t) =>
      (await ownerQuery<{ n: number }>(platform, `SELECT count(*)::int AS n FROM ${t} WHERE tenant_id = $1`, [fresh.tenantId]))[0]!.n));
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [bankBody(ACCOUNTS.settles, {}, { routing_number: '110000001' }), 'invalid_bank_account', 'payment_method[bank_account][routing_number]'],
      [bankBody(ACCOUNTS.settles, {}, { routing_number: '11000000' }), 'invalid_bank_account', 'payment_method[bank_account][routing_number]'],
      [bankBody('123', {}), 'invalid_bank_account', 'payment_method[bank_account][account_number]'],
      [bankBody('123456789012345678', {}), 'invalid_bank_account', 'payment_method[bank_account][account_number]'],
      [bankBody('00012345678a', {}), 'invalid_bank_account', 'payment_method[bank_account][account_number]'],
      [bankBody(ACCOUNTS.settles, {}, { account_holder_name: '   ' }), 'invalid_bank_account', 'payment_method[bank_account][account_holder_name]'],
      [bankBody(ACCOUNTS.settles, { currency: 'eur' }), 'parameter_invalid_enum', 'currency'],
    ];
    for (const [body, code, param] of cases) {
      const res = await post(platform, fresh.token, '/v1/payments', body);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, code, res.text);
      assert.equal(res.body.error.param, param, res.text);
    }
    assert.deepEqual(await count(), [0, 0, 0, 0]);
    // The same tenant can create a valid transfer (the counter above can see rows).
    await createTransfer(platform, fresh.token, ACCOUNTS.settles);
    assert.deepEqual((await count()).slice(0, 1), [1]);
  });

  it("another tenant's transfer is a 404 for get, cancel and refund", async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.settles);
    const get = await platform.request('GET', `/v1/payments/${created.id}`, { token: other.token });
    assert.equal(get.status, 404);
    const cancel = await post(platform, other.token, `/v1/payments/${created.id}/cancel`, {});
    assert.equal(cancel.status, 404);
    const refund = await post(platform, other.token, `/v1/payments/${created.id}/refunds`, {});
    assert.equal(refund.status, 404);
    const mine = await getPayment(platform, tenant.token, created.id);
    assert.notEqual(mine.status, 'canceled');
  });

  it('every rail change above came through signed notifications, each recorded once', async () => {
    const rows = await ownerQuery<{ id: string; n: number }>(platform, 'SELECT id, count(*)::int AS n FROM processor_notifications GROUP BY id');
    assert.ok(rows.length > 0);
    assert.ok(rows.every((r) => r.n === 1));
    assert.ok((await notificationCount(platform)) >= 6);
  });

  it('no full account number anywhere in the database or the logs', async () => {
    const tables = await ownerQuery<{ table_name: string }>(platform, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
    const numbers = Object.values(ACCOUNTS);
    for (const { table_name } of tables) {
      const rows = await ownerQuery<{ r: string }>(platform, `SELECT row_to_json(t)::text AS r FROM "${table_name}" t`);
      for (const { r } of rows) {
        for (const n of numbers) assert.equal(r.includes(n), false, `${table_name} holds a full account number`);
      }
    }
    const logs = platform.logs.text();
    assert.ok(logs.length > 0);
    for (const n of numbers) assert.equal(logs.includes(n), false, 'the logs hold a full account number');
  });
});
