import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { queryOneRow } from './catalog.js';
import type { TestPlatform } from '../../test/helpers/platform.js';
import { createTenant } from '../../test/helpers/tenants.js';

/**
 * Realistic rows for a backup drill, written through the real API of a running platform (with its worker):
 * several tenants, each with a webhook endpoint, card payments in every state (captured, authorized, partially
 * captured, voided, declined), full and partial refunds, bank transfers (settled, returned early, returned after
 * settlement, canceled), in two currencies; the worker turns them into events and delivered webhooks.
 */
export interface DrillData {
  tenants: Array<{ tenantId: string; token: string; paymentIds: string[]; lateReturnId: string }>;
  close(): Promise<void>;
}

const YEAR = new Date().getUTCFullYear() + 2;
const card = (number: string) => ({ type: 'card', card: { number, exp_month: 12, exp_year: YEAR, cvc: number.startsWith('37') ? '1234' : '123' } });
const bank = (accountNumber: string) => ({
  type: 'bank_transfer',
  bank_account: { account_holder_name: 'Jane Doe', account_number: accountNumber, routing_number: '110000000', account_type: 'checking' },
});

async function post(platform: TestPlatform, token: string, path: string, body: unknown, expect: number[]): Promise<any> {
  const res = await platform.request('POST', path, { token, body, headers: { 'idempotency-key': randomUUID() } });
  if (!expect.includes(res.status)) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return res.body;
}

async function startReceiver(): Promise<{ url: string; received: () => number; close(): Promise<void> }> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    received: () => count,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export async function createDrillData(platform: TestPlatform, options: { tenants: number; paymentsPerTenant: number }): Promise<DrillData> {
  const receiver = await startReceiver();
  const tenants: DrillData['tenants'] = [];
  try {
    for (let i = 0; i < options.tenants; i++) {
      const tenant = await createTenant(platform, { name: `Drill tenant ${i + 1}` });
      const paymentIds: string[] = [];
      const { token } = tenant;
      await post(platform, token, '/v1/webhook_endpoints', { url: receiver.url, enabled_events: ['*'] }, [201]);
      for (let n = 0; n < options.paymentsPerTenant; n++) {
        const amount = 1_000 + 137 * n + 11 * i;
        const currency = n % 3 === 2 ? 'eur' : 'usd';
        const captured = await post(platform, token, '/v1/payments', { amount, currency, payment_method: card('4242424242424242') }, [201]);
        paymentIds.push(captured.id);
        if (n % 2 === 0) {
          await post(platform, token, `/v1/payments/${captured.id}/refunds`, { amount: Math.floor(amount / 4), reason: 'requested_by_customer' }, [201]);
        }
        if (n % 4 === 1) await post(platform, token, `/v1/payments/${captured.id}/refunds`, {}, [201]);
      }
      const manual = await post(platform, token, '/v1/payments', { amount: 5_000, currency: 'usd', capture_method: 'manual', payment_method: card('5555555555554444') }, [201]);
      await post(platform, token, `/v1/payments/${manual.id}/capture`, { amount: 3_500 }, [200]);
      const held = await post(platform, token, '/v1/payments', { amount: 7_700, currency: 'usd', capture_method: 'manual', payment_method: card('378282246310005') }, [201]);
      const voided = await post(platform, token, '/v1/payments', { amount: 900, currency: 'eur', capture_method: 'manual', payment_method: card('4242424242424242') }, [201]);
      await post(platform, token, `/v1/payments/${voided.id}/cancel`, {}, [200]);
      const declined = await post(platform, token, '/v1/payments', { amount: 4_200, currency: 'usd', payment_method: card('4000000000000002') }, [201]);
      const settles = await post(platform, token, '/v1/payments', { amount: 25_000, currency: 'usd', payment_method: bank('000123456789') }, [201]);
      const returned = await post(platform, token, '/v1/payments', { amount: 12_500, currency: 'usd', payment_method: bank('000111111113') }, [201]);
      // settles, then comes back (R10) inside the return window: amount_reversed
      const lateReturn = await post(platform, token, '/v1/payments', { amount: 8_800, currency: 'usd', payment_method: bank('000222222227') }, [201]);
      const canceled = await post(platform, token, '/v1/payments', { amount: 3_300, currency: 'usd', payment_method: bank('000123456789') }, [201]);
      // the worker may have submitted it already on a slow machine: then it simply settles
      await post(platform, token, `/v1/payments/${canceled.id}/cancel`, {}, [200, 409]);
      paymentIds.push(manual.id, held.id, voided.id, declined.id, settles.id, returned.id, lateReturn.id, canceled.id);
      tenants.push({ tenantId: tenant.tenantId, token, paymentIds, lateReturnId: lateReturn.id });
    }
  } catch (err) {
    await receiver.close();
    throw err;
  }
  return { tenants, close: () => receiver.close() };
}

/**
 * Waits until every late return came back, no payment is processing and no webhook is pending, so an export sees
 * a quiet database with every state the drill asked for.
 */
export async function waitForQuiet(platform: TestPlatform, data: DrillData, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const t of data.tenants) {
    for (;;) {
      const res = await platform.request('GET', `/v1/payments/${t.lateReturnId}`, { token: t.token });
      if (res.body?.status === 'reversed') break;
      if (Date.now() > deadline) throw new Error(`bank transfer ${t.lateReturnId} was not returned in time (status ${String(res.body?.status)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (;;) {
    // the owner, across tenants: the app role's pool sees no rows without a tenant
    const client = new pg.Client({ connectionString: platform.db.ownerUrl });
    await client.connect();
    let busy: number;
    try {
      await client.query("select set_config('app.cross_tenant', 'on', false)");
      ({ busy } = await queryOneRow<{ busy: number }>(
        client,
        `select (select count(*) from payments where status = 'processing')::int
              + (select count(*) from webhook_deliveries where status = 'pending')::int as busy`,
      ));
    } finally {
      await client.end();
    }
    if (busy === 0) return;
    if (Date.now() > deadline) throw new Error('the platform did not settle (payments processing or webhooks pending)');
    await new Promise((r) => setTimeout(r, 100));
  }
}
