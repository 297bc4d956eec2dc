import pg from 'pg';
import { randomUUID } from 'node:crypto';
import type { TestPlatform, TestResponse } from '../helpers/platform.js';
import { eventually, notYet } from '../helpers/eventually.js';

export const CARDS = {
  visa: '4242424242424242',
  mastercard: '5555555555554444',
  amex: '378282246310005',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  expired: '4000000000000069',
  incorrectCvc: '4000000000000127',
  processorError: '4000000000000119',
  lostResponse: '4000000000000408',
  timeoutNothingRecorded: '4000000000000416',
  refundDeclined: '4000000000000424',
} as const;

export function cardBody(number: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    amount: 2000,
    currency: 'usd',
    payment_method: { type: 'card', card: { number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: number.startsWith('37') ? '1234' : '123' } },
    ...extra,
  };
}

/** A POST with a fresh Idempotency-Key unless one is given. */
export function post(platform: TestPlatform, token: string, path: string, body: unknown, key: string = randomUUID()): Promise<TestResponse> {
  return platform.request('POST', path, { token, body, headers: { 'idempotency-key': key } });
}

export async function waitForPaymentStatus(platform: TestPlatform, token: string, id: string, status: string, timeoutMs = 15_000): Promise<any> {
  return eventually(async () => {
    const res = await platform.request('GET', `/v1/payments/${id}?expand=attempts`, { token });
    return res.body?.status === status ? res.body : notYet({ status: res.status, body: res.body });
  }, { timeoutMs, what: `payment ${id} ${status}` });
}

/** Rows the owner connection sees in a table (bypasses RLS: used to prove "nothing was written"). */
export async function countRows(platform: TestPlatform, table: string): Promise<number> {
  const rows = await ownerQuery<{ n: number }>(platform, `SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

export async function ownerQuery<T>(platform: TestPlatform, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: platform.db.ownerUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

