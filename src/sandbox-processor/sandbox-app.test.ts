import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';

import { buildSandboxProcessor } from './index.js';
import { eventually } from '../../test/helpers/eventually.js';

/**
 * Wire-level behaviour of the sandbox acquirer (the adapter's tests cover the normalized view). Durability across
 * restarts is in sandbox-durability.test.ts.
 */

const logLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(chunk.toString());
    done();
  },
});

let db: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let seq = 0;
const nextKey = () => `sbx-test-${process.pid}-${++seq}`;

interface WireResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(method: string, path: string, body?: unknown, key?: string): Promise<WireResponse> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const card = (number: string) => ({ number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' });
const authBody = (number: string, amount = 1000, capture = false) => ({ amount, currency: 'usd', capture, card: card(number) });

async function counts(): Promise<Record<string, number>> {
  return (await call('GET', '/_control')).body.counts as Record<string, number>;
}

before(async () => {
  db = await createTestDatabase();
  app = await buildSandboxProcessor({
    logger: pino({ level: 'trace' }, logSink),
    databaseUrl: db.ownerUrl,
    lostResponseDelayMs: 200,
    settlementDelayMs: 5_000,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app?.close();
  await db?.drop();
});

describe('sandbox processor wire API', () => {
  it('requires an Idempotency-Key on every mutation', async () => {
    const res = await call('POST', '/v1/authorizations', authBody('4242424242424242'));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'missing_idempotency_key');
  });

  it('approves, answers only last4 and brand, and replays the same key without a second authorization', async () => {
    const key = nextKey();
    const before = await counts();
    const first = await call('POST', '/v1/authorizations', authBody('5555555555554444', 2500), key);
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'approved');
    assert.deepEqual(first.body.card, { brand: 'mastercard', last4: '4444' });
    assert.ok(!JSON.stringify(first.body).includes('5555555555554444'));
    const replay = await call('POST', '/v1/authorizations', authBody('5555555555554444', 2500), key);
    assert.deepEqual(replay.body, first.body);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal((await counts()).authorizations, (before.authorizations ?? 0) + 1);
  });

  it('refuses the same key with a different body (422) and with another operation', async () => {
    const key = nextKey();
    await call('POST', '/v1/authorizations', authBody('4242424242424242', 1000), key);
    const other = await call('POST', '/v1/authorizations', authBody('4242424242424242', 1001), key);
    assert.equal(other.status, 422);
    assert.equal(other.body.error, 'idempotency_key_reused');
    const debit = await call(
      'POST',
      '/v1/bank_debits',
      { amount: 1000, currency: 'usd', account: { account_number: '000123456789', routing_number: '110000000', account_type: 'checking', holder_name: 'A' } },
      key,
    );
    assert.equal(debit.status, 422);

    // and the other way round: a key another operation recorded creates no authorization
    const debitKey = nextKey();
    const before = await counts();
    const recorded = await call(
      'POST',
      '/v1/bank_debits',
      { amount: 1000, currency: 'usd', account: { account_number: '000123456789', routing_number: '110000000', account_type: 'checking', holder_name: 'A' } },
      debitKey,
    );
    assert.equal(recorded.status, 200, JSON.stringify(recorded.body));
    const auth = await call('POST', '/v1/authorizations', authBody('4242424242424242', 1000), debitKey);
    assert.equal(auth.status, 422);
    assert.equal(auth.body.error, 'idempotency_key_reused');
    assert.equal((await counts()).authorizations, before.authorizations);
  });

  it('rejects unknown fields and malformed cards, declines Luhn-invalid numbers', async () => {
    const extra = await call('POST', '/v1/authorizations', { ...authBody('4242424242424242'), tip: 1 }, nextKey());
    assert.equal(extra.status, 400);
    assert.equal(extra.body.error, 'invalid_request');
    const letters = await call('POST', '/v1/authorizations', authBody('4242abcd42424242'), nextKey());
    assert.equal(letters.status, 400);
    const luhn = await call('POST', '/v1/authorizations', authBody('4242424242424241'), nextKey());
    assert.equal(luhn.body.status, 'declined');
    assert.equal(luhn.body.decline_code, 'invalid_number');
    const expired = await call('POST', '/v1/authorizations', { ...authBody('4242424242424242'), card: { ...card('4242424242424242'), exp_year: 2020 } }, nextKey());
    assert.equal(expired.body.decline_code, 'expired_card');
  });

  it('enforces capture and void rules', async () => {
    const auth = await call('POST', '/v1/authorizations', authBody('4242424242424242', 1000), nextKey());
    const id = auth.body.id as string;
    const tooMuch = await call('POST', `/v1/authorizations/${id}/capture`, { amount: 1001 }, nextKey());
    assert.equal(tooMuch.status, 422);
    const captured = await call('POST', `/v1/authorizations/${id}/capture`, { amount: 600 }, nextKey());
    assert.equal(captured.body.captured_amount, 600);
    const again = await call('POST', `/v1/authorizations/${id}/capture`, { amount: 100 }, nextKey());
    assert.equal(again.status, 409);
    const voided = await call('POST', `/v1/authorizations/${id}/void`, undefined, nextKey());
    assert.equal(voided.status, 409);
    const overRefund = await call('POST', '/v1/refunds', { authorization_id: id, amount: 601 }, nextKey());
    assert.equal(overRefund.status, 422);
    const missing = await call('POST', '/v1/authorizations/auth_nope/capture', {}, nextKey());
    assert.equal(missing.status, 404);
  });

  it('answers 404 not_found for an operation key nothing was recorded under', async () => {
    const res = await call('GET', `/v1/operations/${nextKey()}`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'not_found');
  });

  it('answers 500 to every attempt for 4000000000000119 and records nothing', async () => {
    const key = nextKey();
    for (let i = 0; i < 2; i++) {
      const res = await call('POST', '/v1/authorizations', authBody('4000000000000119'), key);
      assert.equal(res.status, 500);
    }
    assert.equal((await call('GET', `/v1/operations/${key}`)).status, 404);
  });

  it('error_rate 1 answers 503 before doing anything; the knob is reversible', async () => {
    const before = await counts();
    await call('POST', '/_control', { error_rate: 1 });
    const res = await call('POST', '/v1/authorizations', authBody('4242424242424242'), nextKey());
    assert.equal(res.status, 503);
    await call('POST', '/_control', { error_rate: 0 });
    assert.deepEqual(await counts(), before);
  });

  it('refuses a credit of an unsettled debit and declines unknown routing numbers', async () => {
    const account = { account_number: '000123456789', routing_number: '110000000', account_type: 'checking', holder_name: 'Ada' };
    const debit = await call('POST', '/v1/bank_debits', { amount: 500, currency: 'usd', account }, nextKey());
    assert.equal(debit.body.status, 'submitted');
    assert.deepEqual(debit.body.account, { last4: '6789', routing_number: '110000000', account_type: 'checking' });
    const credit = await call('POST', '/v1/bank_credits', { debit_id: debit.body.id, amount: 500 }, nextKey());
    assert.equal(credit.status, 409);
    const bad = await call('POST', '/v1/bank_debits', { amount: 500, currency: 'usd', account: { ...account, routing_number: '021000021' } }, nextKey());
    assert.equal(bad.body.status, 'declined');
    assert.equal(bad.body.decline_code, 'invalid_routing_number');
  });

  it('never logs card numbers, CVCs or account numbers', async () => {
    await call('POST', '/v1/authorizations', { ...authBody('378282246310005'), card: { ...card('378282246310005'), cvc: '9876' } }, nextKey());
    await call('POST', '/v1/authorizations', { ...authBody('378282246310005'), card: { ...card('378282246310005'), cvc: '98x6' } }, nextKey());
    assert.ok(logLines.length > 0, 'the sandbox logged something');
    // Only string values are scanned: a 4-digit CVC can legitimately appear inside a numeric timestamp.
    const strings: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value !== null && typeof value === 'object') Object.entries(value).forEach(([k, v]) => (strings.push(k), collect(v)));
    };
    for (const line of logLines) collect(JSON.parse(line));
    const text = strings.join('\n');
    assert.ok(text.includes('/v1/authorizations'), 'request logs were captured');
    for (const secret of ['378282246310005', '4242424242424242', '5555555555554444', '9876', '98x6', '000123456789', 'cvc']) {
      assert.ok(!text.includes(secret), `log contains ${secret}`);
    }
  });

  // Were close to wait for the parked request it would wait forever: the test's timeout is the failure.
  it('closes promptly while a request hangs on stop_answering', { timeout: 60_000 }, async () => {
    const local = await buildSandboxProcessor({ logger: pino({ level: 'silent' }), databaseUrl: db.ownerUrl });
    await local.listen({ host: '127.0.0.1', port: 0 });
    const port = (local.server.address() as AddressInfo).port;
    const stop = await fetch(`http://127.0.0.1:${port}/_control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stop_answering: true }),
    });
    assert.equal(stop.status, 200);
    const hanging = new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/operations/x', method: 'GET' }, (res) => {
        res.resume();
        resolve(`answered ${res.statusCode}`);
      });
      req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
      req.end();
    });
    // the request arrived in full and is parked
    await eventually(async () => ((await (await fetch(`http://127.0.0.1:${port}/_control`)).json()) as { held_requests: number }).held_requests >= 1, { timeoutMs: 30_000, what: 'the request parked' });
    await local.close();
    assert.match(await hanging, /^error /, 'the parked request was cut by the close, not answered');
  });

  it('validates its options at build time', async () => {
    const logger = pino({ level: 'silent' });
    const databaseUrl = db.ownerUrl;
    await assert.rejects(buildSandboxProcessor({ logger, databaseUrl, errorRate: 2 }), RangeError);
    await assert.rejects(buildSandboxProcessor({ logger, databaseUrl, notificationUrl: 'http://127.0.0.1:1/n' }), RangeError);
    await assert.rejects(buildSandboxProcessor({ logger, databaseUrl, latencyMs: -1 }), RangeError);
    await assert.rejects(buildSandboxProcessor({ logger, databaseUrl: '' }), /databaseUrl is required/);
    // The message must not echo the URL: it carries the database password.
    await assert.rejects(buildSandboxProcessor({ logger, databaseUrl: 'mysql://u:hunter2@db/x' }), (err: Error) => {
      assert.ok(err instanceof RangeError);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  });
});
