import assert from 'node:assert/strict';
import { signProcessorNotification } from '../../src/modules/processors/index.js';
import type { TestPlatform, TestResponse } from '../helpers/platform.js';
import { ownerQuery, post } from '../payments/helpers.js';
import { eventually, notYet } from '../helpers/eventually.js';

export const SANDBOX_ROUTING = '110000000';
/** ABA-valid, but not a routing number the sandbox rail serves: the debit is declined at submission. */
export const FOREIGN_ROUTING = '021000021';
export const ACCOUNTS = {
  settles: '000123456789',
  r01: '000111111113',
  r03: '000111111116',
  lateR10: '000222222227',
} as const;
export const NOTIFICATION_SECRET = 'test-notification-secret-0123456789';

export function bankBody(accountNumber: string, extra: Record<string, unknown> = {}, account: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    amount: 10_000,
    currency: 'usd',
    payment_method: {
      type: 'bank_transfer',
      bank_account: { account_holder_name: 'Jane Doe', account_number: accountNumber, routing_number: SANDBOX_ROUTING, account_type: 'checking', ...account },
    },
    ...extra,
  };
}

export async function createTransfer(platform: TestPlatform, token: string, accountNumber: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await post(platform, token, '/v1/payments', bankBody(accountNumber, extra));
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.status, 'processing');
  assert.equal(res.body.bank_transfer.rail_status, 'pending');
  return res.body;
}

export async function getPayment(platform: TestPlatform, token: string, id: string): Promise<any> {
  const res = await platform.request('GET', `/v1/payments/${id}?expand=attempts`, { token });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

/** Waits until the payment matches (status and/or rail status). */
export async function waitForTransfer(platform: TestPlatform, token: string, id: string, want: { status?: string; rail?: string }, timeoutMs = 15_000): Promise<any> {
  return eventually(async () => {
    const p = await getPayment(platform, token, id);
    const ok = (want.status === undefined || p.status === want.status) && (want.rail === undefined || p.bank_transfer?.rail_status === want.rail);
    return ok ? p : notYet({ status: p.status, rail_status: p.bank_transfer?.rail_status });
  }, { timeoutMs, what: `transfer ${id} ${JSON.stringify(want)}` });
}

/** Event types recorded for an object, oldest first, read through the events API. */
export async function eventTypes(platform: TestPlatform, token: string, objectId: string): Promise<string[]> {
  const res = await platform.request('GET', `/v1/events?object_id=${objectId}&limit=100`, { token });
  assert.equal(res.status, 200, res.text);
  return (res.body.data as Array<{ type: string }>).map((e) => e.type).reverse();
}

export function history(payment: any): string[] {
  return (payment.status_history as Array<{ to_status: string; rail_status: string | null }>).map((t) => `${t.to_status}/${t.rail_status}`);
}

/** Posts a notification to the inbound endpoint, signed like the processor does unless told otherwise. */
export async function sendNotification(
  platform: TestPlatform,
  body: Record<string, unknown> | string,
  options: { secret?: string; timestampSec?: number; signature?: string | null; processor?: string; contentType?: string } = {},
): Promise<TestResponse> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
  const signature = options.signature === undefined
    ? signProcessorNotification(options.secret ?? NOTIFICATION_SECRET, raw, options.timestampSec ?? Math.floor(Date.now() / 1000))
    : options.signature;
  if (signature !== null) headers['processor-signature'] = signature;
  return platform.request('POST', `/v1/processor_notifications/${options.processor ?? 'sandbox'}`, { rawBody: raw, headers });
}

export async function notificationCount(platform: TestPlatform): Promise<number> {
  const rows = await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM processor_notifications');
  return rows[0]!.n;
}

/** The bank debit attempt of a submitted transfer: its id is the rail's idempotency key, its reference the debit id. */
export function debitOf(payment: any): { attemptId: string; debitId: string } {
  const attempt = (payment.attempts as Array<{ id: string; operation: string; status: string; processor_reference: string | null }>)
    .find((a) => a.operation === 'bank_debit' && a.status === 'succeeded');
  assert.ok(attempt?.processor_reference, 'the transfer has a succeeded bank_debit attempt');
  return { attemptId: attempt.id, debitId: attempt.processor_reference };
}
