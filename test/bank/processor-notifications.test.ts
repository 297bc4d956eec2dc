import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { signProcessorNotification } from '../../src/modules/processors/index.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ACCOUNTS, NOTIFICATION_SECRET, createTransfer, debitOf, eventTypes, getPayment, history, notificationCount, sendNotification, waitForTransfer } from './helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';

// The inbound endpoint with notifications we craft and sign ourselves. The sandbox's own notifications are
// dropped and polling is out of reach, so nothing but the requests in this file moves a transfer after submission.

describe('processor notifications: signature, exactly-once, order', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;

  before(async () => {
    platform = await startTestPlatform({
      worker: true,
      // A submission answered after the processor timeout would take the reconciliation path instead of the one
      // these tests read (a busy machine can be that slow): the timeout is far from reach too.
      env: { BANK_EXPECTED_SETTLEMENT_MS: '600000', BANK_RAIL_POLL_INTERVAL_MS: '600000', PROCESSOR_TIMEOUT_MS: '10000' },
    });
    await sandboxControl(platform, { drop_notifications: true });
    tenant = await createTenant(platform);
  });
  after(async () => platform?.close());

  async function submittedTransfer(account: string): Promise<{ id: string; attemptId: string; debitId: string }> {
    const created = await createTransfer(platform, tenant.token, account);
    const submitted = await waitForTransfer(platform, tenant.token, created.id, { rail: 'submitted' }, 30_000);
    return { id: created.id, ...debitOf(submitted) };
  }

  function notification(debit: { attemptId: string; debitId: string }, data: Record<string, unknown>, id = `ntf_${randomUUID()}`): { id: string; type: string; created: number; data: Record<string, any> } {
    const type = data.status === 'returned' ? 'bank_debit.returned' : 'bank_debit.settled';
    return { id, type, created: Math.floor(Date.now() / 1000), data: { debit_id: debit.debitId, idempotency_key: debit.attemptId, ...data } };
  }
  const settledAt = () => new Date(Date.now() - 2_000).toISOString();

  it('refuses bad, missing, malformed, stale and future signatures with 401 and changes nothing', async () => {
    const debit = await submittedTransfer(ACCOUNTS.settles);
    const before = await getPayment(platform, tenant.token, debit.id);
    const body = notification(debit, { status: 'settled', settled_at: settledAt() });
    const raw = JSON.stringify(body);
    const now = Math.floor(Date.now() / 1000);
    const attempts: Array<[string, Parameters<typeof sendNotification>[2], string?]> = [
      ['wrong secret', { secret: 'not-the-shared-secret-000000000' }],
      ['missing header', { signature: null }],
      ['malformed header', { signature: 'v1=abc' }],
      ['no v1', { signature: `t=${now}` }],
      ['stale timestamp', { timestampSec: now - 600 }],
      ['future timestamp', { timestampSec: now + 600 }],
      ['tampered body', { signature: signProcessorNotification(NOTIFICATION_SECRET, raw, now) }, raw.replace('settled', 'returned')],
    ];
    for (const [name, options, bodyOverride] of attempts) {
      const res = await sendNotification(platform, bodyOverride ?? raw, options);
      assert.equal(res.status, 401, `${name}: ${res.text}`);
      assert.equal(res.body.error.code, 'invalid_signature', name);
    }
    const after = await getPayment(platform, tenant.token, debit.id);
    assert.equal(after.status, 'processing');
    assert.equal(after.bank_transfer.rail_status, 'submitted');
    assert.deepEqual(after.status_history, before.status_history);
    assert.equal(after.updated_at, before.updated_at);
    assert.equal(await notificationCount(platform), 0);
  });

  it('an unknown processor is 404; a signed body that is not a notification is 400; neither is recorded', async () => {
    const res = await sendNotification(platform, { id: 'ntf_x', type: 'bank_debit.settled', data: {} }, { processor: 'acme' });
    assert.equal(res.status, 404, res.text);
    const notJson = await sendNotification(platform, '{"id": ');
    assert.equal(notJson.status, 400, notJson.text);
    const noData = await sendNotification(platform, { id: 'ntf_y', type: 'bank_debit.settled' });
    assert.equal(noData.status, 400, noData.text);
    const badData = await sendNotification(platform, { id: 'ntf_z', type: 'bank_debit.settled', data: { status: 'settled' } });
    assert.equal(badData.status, 400, badData.text);
    const textPlain = await sendNotification(platform, '{}', { contentType: 'text/plain' });
    assert.equal(textPlain.status, 415, textPlain.text);
    assert.equal(await notificationCount(platform), 0);
  });

  it('a signed notification PostgreSQL could not store (NUL, a lone surrogate, a time past year 9999) is a 400, not a 500; nothing is recorded', async () => {
    const bodies = [
      { id: 'ntf_nul', type: 'bank_debit.unknown_kind', data: { note: 'a\u0000b' } },
      { id: 'ntf_key', type: 'something.else', data: { 'k\u0000': 'v' } },
      { id: 'ntf_surrogate', type: 'something.else', data: { note: '\ud800' } },
      { id: 'ntf_year', type: 'bank_debit.settled', data: { debit_id: 'dbt_x', status: 'settled', settled_at: '+275760-09-13T00:00:00.000Z', idempotency_key: 'att_x' } },
    ];
    for (const body of bodies) {
      const res = await sendNotification(platform, body);
      assert.equal(res.status, 400, `${body.id}: ${res.text}`);
      assert.equal(res.body?.error?.code, 'invalid_request', res.text);
    }
    assert.equal(await notificationCount(platform), 0);
  });

  it('a notification delivered twice is processed once; concurrent redeliveries too', async () => {
    const debit = await submittedTransfer(ACCOUNTS.settles);
    const body = notification(debit, { status: 'settled', settled_at: settledAt() });
    const first = await sendNotification(platform, body);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body, { received: true, duplicate: false });
    const second = await sendNotification(platform, body);
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(second.body, { received: true, duplicate: true });

    const done = await getPayment(platform, tenant.token, debit.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.bank_transfer.rail_status, 'settled');
    assert.equal(done.bank_transfer.settled_at, body.data.settled_at);
    assert.deepEqual(history(done), ['processing/pending', 'processing/submitted', 'succeeded/settled']);
    assert.deepEqual(await eventTypes(platform, tenant.token, debit.id), ['payment.processing', 'payment.updated', 'payment.succeeded']);

    // Five concurrent deliveries of one new notification (a late return): exactly one applies it.
    const late = notification(debit, { status: 'returned', settled_at: body.data.settled_at, returned_at: new Date().toISOString(), return_code: 'R10', return_reason: 'Customer advises unauthorized' });
    const results = await Promise.all(Array.from({ length: 5 }, () => sendNotification(platform, late)));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.text).join('\n'));
    assert.equal(results.filter((r) => r.body.duplicate === false).length, 1);
    const reversed = await getPayment(platform, tenant.token, debit.id);
    assert.equal(reversed.status, 'reversed');
    assert.deepEqual(history(reversed), ['processing/pending', 'processing/submitted', 'succeeded/settled', 'reversed/returned']);
    assert.deepEqual(await eventTypes(platform, tenant.token, debit.id), ['payment.processing', 'payment.updated', 'payment.succeeded', 'payment.reversed']);
  });

  it('out of order: a late return before the settlement notice still records settled then reversed; the stale notice changes nothing', async () => {
    const debit = await submittedTransfer(ACCOUNTS.lateR10);
    const settled = settledAt();
    const returned = notification(debit, { status: 'returned', settled_at: settled, returned_at: new Date().toISOString(), return_code: 'R10', return_reason: 'Customer advises unauthorized' });
    const res = await sendNotification(platform, returned);
    assert.equal(res.status, 200, res.text);
    const done = await getPayment(platform, tenant.token, debit.id);
    assert.equal(done.status, 'reversed');
    assert.equal(done.bank_transfer.return_code, 'R10');
    assert.equal(done.bank_transfer.settled_at, settled);
    assert.equal(done.amount_captured, 10_000);
    assert.equal(done.amount_reversed, 10_000);
    assert.deepEqual(history(done), ['processing/pending', 'processing/submitted', 'succeeded/settled', 'reversed/returned']);

    const stale = await sendNotification(platform, notification(debit, { status: 'settled', settled_at: settled }));
    assert.equal(stale.status, 200, stale.text);
    assert.equal(stale.body.duplicate, false);
    const after = await getPayment(platform, tenant.token, debit.id);
    assert.equal(after.status, 'reversed');
    assert.deepEqual(after.status_history, done.status_history);
    assert.equal(after.updated_at, done.updated_at);
    assert.deepEqual(await eventTypes(platform, tenant.token, debit.id), ['payment.processing', 'payment.updated', 'payment.succeeded', 'payment.reversed']);
  });

  it('out of order: a settlement notice after a return before settlement is ignored; the transfer stays failed', async () => {
    const debit = await submittedTransfer(ACCOUNTS.r01);
    const res = await sendNotification(platform, notification(debit, { status: 'returned', returned_at: new Date().toISOString(), return_code: 'R01', return_reason: 'Insufficient funds' }));
    assert.equal(res.status, 200, res.text);
    const failed = await getPayment(platform, tenant.token, debit.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.failure_code, 'insufficient_funds');
    const stale = await sendNotification(platform, notification(debit, { status: 'settled', settled_at: settledAt() }));
    assert.equal(stale.status, 200, stale.text);
    const after = await getPayment(platform, tenant.token, debit.id);
    assert.equal(after.status, 'failed');
    assert.equal(after.amount_captured, 0);
    assert.deepEqual(after.status_history, failed.status_history);
    assert.deepEqual(await eventTypes(platform, tenant.token, debit.id), ['payment.processing', 'payment.updated', 'payment.failed']);
  });

  it('a notification about a debit we do not know is acknowledged and recorded, nothing else', async () => {
    const before = await notificationCount(platform);
    const res = await sendNotification(platform, { id: `ntf_${randomUUID()}`, type: 'bank_debit.settled', data: { debit_id: 'bd_unknown', idempotency_key: 'att_unknown', status: 'settled', settled_at: settledAt() } });
    assert.equal(res.status, 200, res.text);
    assert.equal(await notificationCount(platform), before + 1);
  });
});
