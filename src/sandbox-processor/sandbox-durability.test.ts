import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { eventually, notYet } from '../../test/helpers/eventually.js';
import {
  sandboxQuery as sandboxQueryOn, silentLogger, startNotificationReceiver, startSandbox as startSandboxOn, type NotificationReceiver,
} from '../../test/helpers/sandbox-processor-fixture.js';
import { verifyProcessorNotification } from '../modules/processors/index.js';
import { buildSandboxProcessor, type SandboxOptions } from './index.js';

/**
 * The sandbox keeps its word across restarts: records, recorded answers and due rail events live in PostgreSQL.
 * Each test builds instances on one database, closes them and builds new ones, as a pod restart would.
 */

const SECRET = 'psk_test_durability';
/** Everything a test started, closed in `after` whatever the outcome. */
const closers: Array<() => Promise<unknown>> = [];
let db: TestDatabase;
let seq = 0;
const nextKey = (label: string) => `dur-${label}-${process.pid}-${++seq}`;

interface WireResponse {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

async function call(baseUrl: string, method: string, path: string, body?: unknown, key?: string): Promise<WireResponse> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** A sandbox instance on this file's database, closed after the test whatever the outcome. */
async function startSandbox(options: Partial<SandboxOptions> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const started = await startSandboxOn(db, options);
  closers.push(() => started.app.close());
  return started;
}

/** A receiver of the sandbox's pushes, closed after the test. */
async function startReceiver(): Promise<NotificationReceiver> {
  const receiver = await startNotificationReceiver();
  closers.push(() => receiver.close());
  return receiver;
}

const sandboxQuery = <T>(text: string, values: unknown[] = []): Promise<T[]> => sandboxQueryOn<T>(db, text, values);

const card = (number: string) => ({ number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' });
const authBody = (number: string, amount: number, capture = false) => ({ amount, currency: 'usd', capture, card: card(number) });
const account = { account_number: '000123456789', routing_number: '110000000', account_type: 'checking', holder_name: 'Ada' };

before(async () => {
  db = await createTestDatabase();
});

// Instances of one test must not outlive it: a leftover replica would push the next test's events to its receiver.
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

after(async () => {
  await db?.drop();
});

describe('sandbox processor durability', () => {
  it('records, recorded answers and amounts survive a restart: GET, replay and capture on a new instance', async () => {
    const first = await startSandbox({ settlementDelayMs: 50 });
    const keys = { auth: nextKey('auth'), auth2: nextKey('auth2'), capture: nextKey('cap'), refund: nextKey('rf'), debit: nextKey('bd'), credit: nextKey('bc') };
    const open1 = await call(first.url, 'POST', '/v1/authorizations', authBody('4242424242424242', 1000), keys.auth);
    const auth2 = await call(first.url, 'POST', '/v1/authorizations', authBody('5555555555554444', 2000), keys.auth2);
    const captured = await call(first.url, 'POST', `/v1/authorizations/${auth2.body.id}/capture`, { amount: 1500 }, keys.capture);
    const refund = await call(first.url, 'POST', '/v1/refunds', { authorization_id: auth2.body.id, amount: 400 }, keys.refund);
    const debit = await call(first.url, 'POST', '/v1/bank_debits', { amount: 700, currency: 'usd', account }, keys.debit);
    assert.deepEqual([open1.status, auth2.status, captured.status, refund.status, debit.status], [200, 200, 200, 200, 200]);
    await eventually(async () => ((await call(first.url, 'GET', `/v1/bank_debits/${debit.body.id}`)).body.status === 'settled' ? true : undefined));
    const credit = await call(first.url, 'POST', '/v1/bank_credits', { debit_id: debit.body.id, amount: 300 }, keys.credit);
    assert.equal(credit.status, 200);
    // Compared once nothing changes with time any more: the credit settles too.
    await eventually(async () => ((await call(first.url, 'GET', `/v1/bank_credits/${credit.body.id}`)).body.status === 'settled' ? true : undefined));
    const seen = {
      auth: (await call(first.url, 'GET', `/v1/authorizations/${open1.body.id}`)).body,
      auth2: (await call(first.url, 'GET', `/v1/authorizations/${auth2.body.id}`)).body,
      debit: (await call(first.url, 'GET', `/v1/bank_debits/${debit.body.id}`)).body,
      credit: (await call(first.url, 'GET', `/v1/bank_credits/${credit.body.id}`)).body,
      refundOperation: (await call(first.url, 'GET', `/v1/operations/${keys.refund}`)).body,
      counts: (await call(first.url, 'GET', '/_control')).body.counts,
    };
    assert.equal(seen.auth2.refunded_amount, 400);
    await first.app.close();

    const second = await startSandbox({ settlementDelayMs: 50 });
    assert.deepEqual((await call(second.url, 'GET', `/v1/authorizations/${open1.body.id}`)).body, seen.auth);
    assert.deepEqual((await call(second.url, 'GET', `/v1/authorizations/${auth2.body.id}`)).body, seen.auth2);
    assert.deepEqual((await call(second.url, 'GET', `/v1/bank_debits/${debit.body.id}`)).body, seen.debit);
    assert.deepEqual((await call(second.url, 'GET', `/v1/bank_credits/${credit.body.id}`)).body, seen.credit);
    assert.deepEqual((await call(second.url, 'GET', `/v1/operations/${keys.refund}`)).body, seen.refundOperation);
    assert.deepEqual((await call(second.url, 'GET', '/_control')).body.counts, seen.counts);

    // Replays answer what was recorded, byte for byte, and execute nothing.
    const replay = await fetch(`${second.url}/v1/refunds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': keys.refund },
      body: JSON.stringify({ amount: 400, authorization_id: auth2.body.id }),
    });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(await replay.text(), JSON.stringify(refund.body));
    const authReplay = await call(second.url, 'POST', '/v1/authorizations', authBody('5555555555554444', 2000), keys.auth2);
    assert.deepEqual(authReplay.body, auth2.body);
    const reused = await call(second.url, 'POST', '/v1/authorizations', authBody('5555555555554444', 2001), keys.auth2);
    assert.equal(reused.status, 422);
    assert.equal(reused.body.error, 'idempotency_key_reused');
    assert.deepEqual((await call(second.url, 'GET', '/_control')).body.counts, seen.counts, 'nothing executed twice');

    // The state carried over is live: the open authorization captures, the captured one refuses a second capture,
    // the refund limit counts the refund made before the restart, the credit limit the credit.
    const capture = await call(second.url, 'POST', `/v1/authorizations/${open1.body.id}/capture`, {}, nextKey('cap'));
    assert.equal(capture.status, 200);
    assert.equal(capture.body.captured_amount, 1000);
    assert.equal((await call(second.url, 'POST', `/v1/authorizations/${auth2.body.id}/capture`, {}, nextKey('cap'))).status, 409);
    const over = await call(second.url, 'POST', '/v1/refunds', { authorization_id: auth2.body.id, amount: 1101 }, nextKey('rf'));
    assert.equal(over.body.error, 'amount_exceeds_captured');
    const overCredit = await call(second.url, 'POST', '/v1/bank_credits', { debit_id: debit.body.id, amount: 401 }, nextKey('bc'));
    assert.equal(overCredit.body.error, 'amount_exceeds_debit');
  });

  it('stores no card or account number: only last4 and a hash', async () => {
    const { url } = await startSandbox();
    await call(url, 'POST', '/v1/authorizations', authBody('378282246310005', 123), nextKey('pan'));
    await call(url, 'POST', '/v1/bank_debits', { amount: 5, currency: 'usd', account: { ...account, account_number: '000222222227' } }, nextKey('acct'));
    const tables = await sandboxQuery<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'sandbox_processor'");
    assert.ok(tables.length >= 6);
    for (const { name } of tables) {
      const rows = await sandboxQuery<{ row: string }>(`SELECT t::text AS row FROM sandbox_processor.${name} t`);
      const text = rows.map((r) => r.row).join('\n');
      for (const secret of ['378282246310005', '000222222227']) assert.ok(!text.includes(secret), `${secret} stored in ${name}`);
    }
  });

  it('a rail event that came due while the sandbox was down is pushed, signed, after the restart', async () => {
    const receiver = await startReceiver();
    // The settlement comes due long after the close, however slowly a busy machine gets there.
    const settlementDelayMs = 5_000;
    const notifying = { notificationUrl: receiver.url, notificationSecret: SECRET, settlementDelayMs };
    const first = await startSandbox(notifying);
    const debit = await call(first.url, 'POST', '/v1/bank_debits', { amount: 900, currency: 'usd', account }, nextKey('due'));
    await first.app.close();
    const dueAtMs = Date.parse(debit.body.submitted_at) + settlementDelayMs;
    assert.ok(Date.now() < dueAtMs, 'the sandbox went down before the event came due');
    // The event comes due while the sandbox is down; its outbox row, not a quiet receiver, says nobody tried to push it.
    const [owed] = await eventually(async () => {
      const rows = await sandboxQuery<{ state: string; attempts: number; due: boolean }>(
        'SELECT state, attempts, due_at <= now() AS due FROM sandbox_processor.notification_outbox WHERE debit_id = $1',
        [debit.body.id],
      );
      return rows[0]?.due ? rows : notYet(rows);
    }, { timeoutMs: settlementDelayMs + 10_000, what: 'the settlement event due' });
    assert.deepEqual(owed, { state: 'pending', attempts: 0, due: true }, 'nobody pushed while the sandbox was down');
    assert.equal(receiver.received.length, 0);

    await startSandbox(notifying);
    const [event] = await eventually(() => (receiver.received.length > 0 ? receiver.received : undefined));
    const nowSec = Math.floor(Date.now() / 1000);
    const verdict = verifyProcessorNotification({ secret: SECRET, rawBody: event!.rawBody, header: event!.headers['processor-signature'] as string, nowSec });
    assert.equal(verdict.ok, true);
    assert.equal(event!.json.type, 'bank_debit.settled');
    assert.match(event!.json.id, /^ntf_/);
    assert.deepEqual(event!.json.data, {
      debit_id: debit.body.id,
      idempotency_key: debit.body.idempotency_key,
      status: 'settled',
      settled_at: new Date(dueAtMs).toISOString(),
    });
    const [row] = await sandboxQuery<{ state: string; attempts: number }>(
      'SELECT state, attempts FROM sandbox_processor.notification_outbox WHERE debit_id = $1',
      [debit.body.id],
    );
    assert.deepEqual(row, { state: 'sent', attempts: 1 }, 'marked sent: it will not be pushed again');
  });

  it('two replicas on one database push each event once', async () => {
    const receiver = await startReceiver();
    const notifying = { notificationUrl: receiver.url, notificationSecret: SECRET, settlementDelayMs: 100, lateReturnDelayMs: 100 };
    const [a, b] = [await startSandbox(notifying), await startSandbox(notifying)];
    const accounts = ['000123456789', '000111111113', '000222222227', '000123456789', '000111111116', '000222222227'];
    const debits = await Promise.all(
      accounts.map((n, i) => call(i % 2 ? a.url : b.url, 'POST', '/v1/bank_debits', { amount: 100 + i, currency: 'usd', account: { ...account, account_number: n } }, nextKey('rep'))),
    );
    const ids = new Set(debits.map((d) => d.body.id as string));
    const expected = 8; // one event each, two for the late-return accounts
    await eventually(async () => {
      const [pending] = await sandboxQuery<{ n: number }>("SELECT count(*)::int AS n FROM sandbox_processor.notification_outbox WHERE state = 'pending'");
      return receiver.received.filter((r) => ids.has(r.json.data.debit_id as string)).length >= expected && pending!.n === 0 ? true : undefined;
    });
    const mine = receiver.received.filter((r) => ids.has(r.json.data.debit_id as string));
    assert.equal(mine.length, expected);
    assert.equal(new Set(mine.map((r) => r.json.id)).size, expected, 'no event pushed twice');
  });

  it('concurrent requests with one key execute once, across replicas; refunds of one authorization queue', async () => {
    const [a, b] = [await startSandbox(), await startSandbox()];
    const key = nextKey('race');
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => call(i % 2 ? a.url : b.url, 'POST', '/v1/authorizations', authBody('4242424242424242', 3000, true), key)),
    );
    assert.ok(answers.every((r) => r.status === 200));
    assert.equal(new Set(answers.map((r) => r.body.id)).size, 1);
    assert.equal(answers.filter((r) => r.headers.get('idempotent-replayed') !== 'true').length, 1, 'one execution, the rest replays');
    const rows = await sandboxQuery<{ n: number }>('SELECT count(*)::int AS n FROM sandbox_processor.authorizations WHERE idempotency_key = $1', [key]);
    assert.equal(rows[0]!.n, 1);

    // Ten refunds of 1000 against 3000 captured, each with its own key: exactly three fit.
    const refunds = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(i % 2 ? a.url : b.url, 'POST', '/v1/refunds', { authorization_id: answers[0]!.body.id, amount: 1000 }, nextKey('rf-race'))),
    );
    assert.equal(refunds.filter((r) => r.status === 200).length, 3);
    assert.ok(refunds.filter((r) => r.status !== 200).every((r) => r.body.error === 'amount_exceeds_captured'));
    assert.equal((await call(a.url, 'GET', `/v1/authorizations/${answers[0]!.body.id}`)).body.refunded_amount, 3000);
  });

  it('two instances creating the schema at once both start', async () => {
    const fresh = await createTestDatabase();
    try {
      const started = await Promise.allSettled([0, 1, 2].map(() => buildSandboxProcessor({ logger: silentLogger, databaseUrl: fresh.ownerUrl })));
      for (const s of started) if (s.status === 'fulfilled') await s.value.close();
      assert.deepEqual(started.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled']);
      const rows = await sandboxQueryOn<{ version: number }>(fresh, 'SELECT version FROM sandbox_processor.schema_versions');
      assert.deepEqual(rows, [{ version: 1 }], 'each step applied once');
    } finally {
      await fresh.drop();
    }
  });
});
