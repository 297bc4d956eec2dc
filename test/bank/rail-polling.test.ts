import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ownerQuery, post } from '../payments/helpers.js';
import { ACCOUNTS, createTransfer, eventTypes, getPayment, history, notificationCount, waitForTransfer } from './helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

// Every notification is lost (sandbox drop_notifications): only the worker's rail polling can finish a transfer.

describe('bank rail polling: lost notifications never leave a transfer stuck', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  /**
   * Long enough that a settled transfer is still polled when the tests look (a busy machine took more than the 5 s
   * this used to be between a settlement and the check); the window's end is checked against the schedule itself.
   */
  const RETURN_WINDOW_MS = 60_000;

  before(async () => {
    platform = await startTestPlatform({
      worker: true,
      env: {
        SANDBOX_SETTLEMENT_DELAY_MS: '200',
        SANDBOX_LATE_RETURN_DELAY_MS: '400',
        BANK_EXPECTED_SETTLEMENT_MS: '300',
        BANK_RAIL_POLL_INTERVAL_MS: '100',
        BANK_RETURN_WINDOW_MS: String(RETURN_WINDOW_MS),
      },
    });
    await sandboxControl(platform, { drop_notifications: true });
    tenant = await createTenant(platform);
  });
  after(async () => platform?.close());

  async function pollSchedule(id: string): Promise<{ next: Date | null; settled: Date | null }> {
    const [row] = await ownerQuery<{ next: Date | null; settled: Date | null }>(platform, 'SELECT rail_next_poll_at AS next, settled_at AS settled FROM payments WHERE id = $1', [id]);
    return row!;
  }

  it('each sandbox account reaches its final state by polling alone', async () => {
    const [settles, r03, late] = await Promise.all([
      createTransfer(platform, tenant.token, ACCOUNTS.settles),
      createTransfer(platform, tenant.token, ACCOUNTS.r03),
      createTransfer(platform, tenant.token, ACCOUNTS.lateR10),
    ]);
    const done = await waitForTransfer(platform, tenant.token, settles.id, { status: 'succeeded' });
    assert.equal(done.bank_transfer.rail_status, 'settled');
    assert.deepEqual(history(done), ['processing/pending', 'processing/submitted', 'succeeded/settled']);
    assert.match(done.status_history[2].reason, /\(poll\)/);

    const failed = await waitForTransfer(platform, tenant.token, r03.id, { status: 'failed' });
    assert.equal(failed.bank_transfer.return_code, 'R03');
    assert.equal(failed.failure_code, 'no_account');

    const reversed = await waitForTransfer(platform, tenant.token, late.id, { status: 'reversed' });
    assert.equal(reversed.bank_transfer.return_code, 'R10');
    assert.equal(reversed.amount_reversed, reversed.amount);
    // Whether the poll saw it settled first or only returned, the history tells the rail's whole story.
    assert.deepEqual(history(reversed), ['processing/pending', 'processing/submitted', 'succeeded/settled', 'reversed/returned']);
    assert.deepEqual(await eventTypes(platform, tenant.token, late.id), ['payment.processing', 'payment.updated', 'payment.succeeded', 'payment.reversed']);

    assert.equal(await notificationCount(platform), 0, 'nothing came through notifications');

    // Nothing left to ask about a returned transfer; a settled one is watched only until its return window closes.
    assert.equal((await pollSchedule(r03.id)).next, null);
    assert.equal((await pollSchedule(late.id)).next, null);
    const schedule = await pollSchedule(settles.id);
    assert.ok(schedule.next && schedule.settled);
    assert.ok(schedule.next.getTime() <= schedule.settled.getTime() + RETURN_WINDOW_MS);
  });

  it('polling a settled transfer does not touch updated_at', async () => {
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.settles);
    const settled = await waitForTransfer(platform, tenant.token, created.id, { status: 'succeeded' });
    const before = await pollSchedule(created.id);
    await eventually(async () => {
      const now = await pollSchedule(created.id);
      return now.next && before.next && now.next.getTime() > before.next.getTime() ? true : undefined;
    }, { timeoutMs: 15_000 });
    const after = await getPayment(platform, tenant.token, created.id);
    assert.equal(after.updated_at, settled.updated_at);
  });

  it('an unknown submission outcome keeps the transfer cancel-proof and its account number, then reconciles', async () => {
    await sandboxControl(platform, { stop_answering: true });
    let created: any;
    try {
      created = await createTransfer(platform, tenant.token, ACCOUNTS.settles);
      const unknown = await eventually(async () => {
        const p = await getPayment(platform, tenant.token, created.id);
        return p.attempts[0]?.status === 'unknown' ? p : undefined;
      }, { timeoutMs: 15_000 });
      assert.equal(unknown.status, 'processing');
      assert.equal(unknown.bank_transfer.rail_status, 'pending');
      assert.equal(unknown.attempts[0].operation, 'bank_debit');
      const cancel = await post(platform, tenant.token, `/v1/payments/${created.id}/cancel`, {});
      assert.equal(cancel.status, 409, cancel.text);
      const [row] = await ownerQuery<{ enc: string | null }>(platform, 'SELECT bank_account_number_enc AS enc FROM payments WHERE id = $1', [created.id]);
      assert.ok(row!.enc, 'the encrypted account number is kept until the submission is resolved');
    } finally {
      await sandboxControl(platform, { stop_answering: false });
    }
    const done = await waitForTransfer(platform, tenant.token, created.id, { status: 'succeeded' }, 30_000);
    const debits = done.attempts.filter((a: { operation: string }) => a.operation === 'bank_debit');
    assert.equal(debits.length, 1, 'resolved under the same attempt, never submitted twice');
    assert.equal(debits[0].status, 'succeeded');
    assert.ok(debits[0].reconcile_count >= 1);
    assert.match(done.status_history[1].reason, /\(reconciliation\)/);
    const [row] = await ownerQuery<{ enc: string | null }>(platform, 'SELECT bank_account_number_enc AS enc FROM payments WHERE id = $1', [created.id]);
    assert.equal(row!.enc, null);
  });
});
