import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { buildSandboxProcessor } from '../../sandbox-processor/index.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import {
  createSandboxProcessorAdapter,
  verifyProcessorNotification,
  type AuthorizeOutcome,
  type BankDebitSnapshot,
  type CircuitStateName,
  type ProcessorCallReport,
  type SandboxProcessorAdapter,
  type SandboxProcessorAdapterOptions,
} from './index.js';

/**
 * The adapter against a real sandbox over real loopback HTTP. Timings: ordinary calls get TIMEOUT_MS, far more than a
 * busy machine needs; only the tests of the timeout itself use SHORT_TIMEOUT_MS, against answers held LOST_MS (or
 * forever), far longer still, so the timeout is the only way those calls can end. Debits settle after SETTLE_MS.
 */

const TIMEOUT_MS = 10_000;
const SHORT_TIMEOUT_MS = 300;
const LOST_MS = 10_000;
const SETTLE_MS = 100;
const LATE_RETURN_MS = 150;
const SECRET = 'psk_test_notifications';
const logger = pino({ level: 'silent' });

interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  json: { id: string; type: string; created: number; data: Record<string, unknown> };
}

const received: Received[] = [];
/** Debit ids for which the receiver answers 500 (to exercise push retries). */
const failingDebits = new Set<string>();

let receiver: Server;
/** Where the sandboxes of this file keep their state (the sandbox is durable: it needs a database). */
let sandboxDb: TestDatabase;
let sandbox: FastifyInstance;
let sandboxUrl: string;
let sandboxRequests = 0;
let adapter: SandboxProcessorAdapter;
const reports: ProcessorCallReport[] = [];
const extraAdapters: SandboxProcessorAdapter[] = [];
const extraServers: Array<{ close(): Promise<unknown> | void }> = [];

let seq = 0;
const key = (label: string) => `att_${label}_${process.pid}_${++seq}`;
// The sandbox finds an operation by its key alone; the rest of the lookup is for processors that need it.
const lookup = (idempotencyKey: string) => ({ idempotencyKey, operation: 'authorize' as const, createdAt: new Date() });
const futureYear = new Date().getUTCFullYear() + 3;
const card = (number: string, cvc = '123') => ({ number, expMonth: 12, expYear: futureYear, cvc });

function listenPort(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

async function control(url: string, knobs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/_control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(knobs),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

async function sandboxCounts(url: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/_control`);
  return ((await res.json()) as { counts: Record<string, number> }).counts;
}

function makeAdapter(overrides: Partial<SandboxProcessorAdapterOptions> = {}): SandboxProcessorAdapter {
  const created = createSandboxProcessorAdapter({
    baseUrl: sandboxUrl,
    timeoutMs: TIMEOUT_MS,
    connectTimeoutMs: 2_000,
    maxRetries: 2,
    retryBaseDelayMs: 10,
    logger,
    ...overrides,
  });
  extraAdapters.push(created);
  return created;
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Requests the sandbox at `url` holds right now (received in full, answer not sent). */
async function heldRequests(url: string): Promise<number> {
  const res = await fetch(`${url}/_control`);
  return ((await res.json()) as { held_requests: number }).held_requests;
}

/** Rows of the sandbox's notification outbox for a debit: what its notifier did with each event. */
async function outboxStates(debitId: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: sandboxDb.ownerUrl });
  await client.connect();
  try {
    const res = await client.query<{ state: string }>('SELECT state FROM sandbox_processor.notification_outbox WHERE debit_id = $1 ORDER BY id', [debitId]);
    return res.rows.map((r) => r.state);
  } finally {
    await client.end();
  }
}

function approvedAuth(outcome: AuthorizeOutcome): Extract<AuthorizeOutcome, { kind: 'approved' }> {
  assert.equal(outcome.kind, 'approved', JSON.stringify(outcome, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  return outcome as Extract<AuthorizeOutcome, { kind: 'approved' }>;
}

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const json = JSON.parse(rawBody) as Received['json'];
      received.push({ headers: req.headers, rawBody, json });
      res.statusCode = failingDebits.has(json.data.debit_id as string) ? 500 : 204;
      res.end();
    });
  });
  const receiverPort = await listenPort(receiver);

  sandboxDb = await createTestDatabase();
  sandbox = await buildSandboxProcessor({
    logger,
    databaseUrl: sandboxDb.ownerUrl,
    lostResponseDelayMs: LOST_MS,
    settlementDelayMs: SETTLE_MS,
    lateReturnDelayMs: LATE_RETURN_MS,
    notificationUrl: `http://127.0.0.1:${receiverPort}/processor-notifications`,
    notificationSecret: SECRET,
    notificationMaxAttempts: 3,
    notificationRetryBaseDelayMs: 20,
  });
  sandbox.server.on('request', () => sandboxRequests++);
  await sandbox.listen({ host: '127.0.0.1', port: 0 });
  sandboxUrl = `http://127.0.0.1:${(sandbox.server.address() as AddressInfo).port}`;
  adapter = makeAdapter({
    // High threshold: the fault tests below must not open the shared adapter's circuit.
    circuitBreaker: { consecutiveFailures: 50 },
    onCall: (report) => reports.push(report),
  });
});

after(async () => {
  for (const a of extraAdapters) await a.close();
  for (const s of extraServers) await s.close();
  await sandbox.close();
  await closeServer(receiver);
  await sandboxDb.drop();
});

describe('sandbox processor adapter: card outcomes', () => {
  const approvedCards: Array<[string, string]> = [
    ['4242424242424242', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['378282246310005', 'amex'],
    ['6011111111111117', 'discover'],
  ];
  for (const [number, brand] of approvedCards) {
    it(`approves ${brand} ${number.slice(-4)}`, async () => {
      const outcome = approvedAuth(
        await adapter.authorize({ idempotencyKey: key('ok'), amountMinor: 1999n, currency: 'USD', card: card(number, brand === 'amex' ? '1234' : '123'), capture: false }),
      );
      assert.match(outcome.processorReference, /^auth_/);
      assert.equal(outcome.authorizedAmountMinor, 1999n);
      assert.equal(outcome.capturedAmountMinor, 0n);
      assert.equal(outcome.currency, 'USD');
      assert.deepEqual(outcome.card, { brand, last4: number.slice(-4) });
    });
  }

  const declines: Array<[string, string]> = [
    ['4000000000000002', 'card_declined'],
    ['4000000000009995', 'insufficient_funds'],
    ['4000000000000069', 'expired_card'],
    ['4000000000000127', 'incorrect_cvc'],
    ['4242424242424241', 'invalid_number'],
  ];
  for (const [number, code] of declines) {
    it(`declines ${number} with ${code} (a result, with a reference)`, async () => {
      const outcome = await adapter.authorize({ idempotencyKey: key('dec'), amountMinor: 500n, currency: 'usd', card: card(number), capture: true });
      assert.equal(outcome.kind, 'declined');
      if (outcome.kind !== 'declined') return;
      assert.equal(outcome.code, code);
      assert.equal(outcome.processorCode, code);
      assert.match(outcome.processorReference ?? '', /^auth_/);
      assert.ok(outcome.message.length > 0);
    });
  }

  it('authorize with capture: true captures the full amount', async () => {
    const outcome = approvedAuth(
      await adapter.authorize({ idempotencyKey: key('cap'), amountMinor: 4200n, currency: 'EUR', card: card('4242424242424242'), capture: true }),
    );
    assert.equal(outcome.capturedAmountMinor, 4200n);
    assert.equal(outcome.currency, 'EUR');
  });

  it('retries 5xx with the same key (…0119), then answers processing_error retryable, recording nothing', async () => {
    const k = key('5xx');
    const before = sandboxRequests;
    const outcome = await adapter.authorize({ idempotencyKey: k, amountMinor: 100n, currency: 'usd', card: card('4000000000000119'), capture: false });
    assert.deepEqual(
      { kind: outcome.kind, ...(outcome.kind === 'error' ? { code: outcome.code, retryable: outcome.retryable, sent: outcome.sent, httpStatus: outcome.httpStatus } : {}) },
      { kind: 'error', code: 'processing_error', retryable: true, sent: true, httpStatus: 500 },
    );
    assert.equal(sandboxRequests - before, 3, '1 attempt + 2 retries');
    assert.equal(reports.at(-1)?.attempts, 3);
    assert.deepEqual(await adapter.getOperationStatus(lookup(k)), { kind: 'not_found' });
  });

  it('lost response (…0408): unknown/timeout within the deadline, status query finds the approval, replay returns it', async () => {
    const k = key('lost');
    const impatient = makeAdapter({ timeoutMs: SHORT_TIMEOUT_MS, onCall: (report) => reports.push(report) });
    const outcome = await impatient.authorize({ idempotencyKey: k, amountMinor: 777n, currency: 'usd', card: card('4000000000000408'), capture: false });
    assert.equal(outcome.kind, 'unknown');
    assert.equal(outcome.kind === 'unknown' && outcome.reason, 'timeout');
    // the adapter gave up on its own deadline: the sandbox still holds the answer
    assert.ok((await heldRequests(sandboxUrl)) >= 1, 'the answer is still held at the processor');

    const status = await adapter.getOperationStatus(lookup(k));
    assert.equal(status.kind, 'found');
    if (status.kind !== 'found' || status.operation !== 'authorize') return assert.fail('expected an authorize record');
    const approved = approvedAuth(status.outcome);
    assert.equal(approved.authorizedAmountMinor, 777n);

    const replay = approvedAuth(
      await adapter.authorize({ idempotencyKey: k, amountMinor: 777n, currency: 'usd', card: card('4000000000000408'), capture: false }),
    );
    assert.equal(replay.processorReference, approved.processorReference);
  });

  it('lost before recording (…0416): unknown/timeout, then status query says not_found', async () => {
    const k = key('lost-none');
    const impatient = makeAdapter({ timeoutMs: SHORT_TIMEOUT_MS, onCall: (report) => reports.push(report) });
    const outcome = await impatient.authorize({ idempotencyKey: k, amountMinor: 100n, currency: 'usd', card: card('4000000000000416'), capture: false });
    assert.equal(outcome.kind === 'unknown' && outcome.reason, 'timeout');
    assert.deepEqual(await adapter.getOperationStatus(lookup(k)), { kind: 'not_found' });
  });

  it('refunds of …0424 are declined refund_declined', async () => {
    const auth = approvedAuth(
      await adapter.authorize({ idempotencyKey: key('424'), amountMinor: 1000n, currency: 'usd', card: card('4000000000000424'), capture: true }),
    );
    const refund = await adapter.refund({ idempotencyKey: key('424-rf'), authorizationReference: auth.processorReference, amountMinor: 400n });
    assert.equal(refund.kind, 'declined');
    assert.equal(refund.kind === 'declined' && refund.code, 'refund_declined');
    assert.match((refund.kind === 'declined' && refund.processorReference) || '', /^rf_/);
  });
});

describe('sandbox processor adapter: idempotency and card life cycle', () => {
  it('same key twice → one authorization; same key with another amount → non-retryable error', async () => {
    const k = key('idem');
    const before = await sandboxCounts(sandboxUrl);
    const request = { idempotencyKey: k, amountMinor: 1500n, currency: 'usd', card: card('4242424242424242'), capture: false };
    const first = approvedAuth(await adapter.authorize(request));
    const second = approvedAuth(await adapter.authorize(request));
    assert.equal(second.processorReference, first.processorReference);
    assert.equal((await sandboxCounts(sandboxUrl)).authorizations, (before.authorizations ?? 0) + 1);

    const conflict = await adapter.authorize({ ...request, amountMinor: 1501n });
    assert.equal(conflict.kind, 'error');
    if (conflict.kind !== 'error') return;
    assert.equal(conflict.code, 'processing_error');
    assert.equal(conflict.retryable, false);
    assert.equal(conflict.processorCode, 'idempotency_key_reused');
    assert.equal(conflict.httpStatus, 422);
  });

  it('capture (partial) → refunds up to the captured amount; over-refund is a non-retryable error', async () => {
    const auth = approvedAuth(
      await adapter.authorize({ idempotencyKey: key('life'), amountMinor: 10_000n, currency: 'usd', card: card('5555555555554444'), capture: false }),
    );
    const captureKey = key('life-cap');
    const capture = await adapter.capture({ idempotencyKey: captureKey, authorizationReference: auth.processorReference, amountMinor: 8_000n });
    assert.equal(capture.kind, 'approved');
    if (capture.kind !== 'approved') return;
    assert.equal(capture.capturedAmountMinor, 8_000n);
    assert.equal(capture.authorizedAmountMinor, 10_000n);
    assert.equal(capture.processorReference, auth.processorReference);

    const r1 = await adapter.refund({ idempotencyKey: key('life-rf1'), authorizationReference: auth.processorReference, amountMinor: 3_000n });
    assert.equal(r1.kind, 'approved');
    assert.equal(r1.kind === 'approved' && r1.amountMinor, 3_000n);
    assert.equal(r1.kind === 'approved' && r1.authorizationReference, auth.processorReference);
    const r2 = await adapter.refund({ idempotencyKey: key('life-rf2'), authorizationReference: auth.processorReference, amountMinor: 5_000n });
    assert.equal(r2.kind, 'approved');
    const over = await adapter.refund({ idempotencyKey: key('life-rf3'), authorizationReference: auth.processorReference, amountMinor: 1n });
    assert.equal(over.kind === 'error' && over.processorCode, 'amount_exceeds_captured');
    assert.equal(over.kind === 'error' && over.retryable, false);

    const recorded = await adapter.getOperationStatus(lookup(captureKey));
    assert.deepEqual(recorded, { kind: 'found', operation: 'capture', outcome: capture });
  });

  it('void releases an authorization; capturing it afterwards is refused (invalid_state)', async () => {
    const auth = approvedAuth(
      await adapter.authorize({ idempotencyKey: key('void'), amountMinor: 2_000n, currency: 'usd', card: card('4242424242424242'), capture: false }),
    );
    const voidKey = key('void-v');
    const voided = await adapter.voidAuthorization({ idempotencyKey: voidKey, authorizationReference: auth.processorReference });
    assert.deepEqual(voided, { kind: 'approved', processorReference: auth.processorReference });
    const status = await adapter.getOperationStatus(lookup(voidKey));
    assert.deepEqual(status, { kind: 'found', operation: 'void', outcome: voided });
    const capture = await adapter.capture({ idempotencyKey: key('void-c'), authorizationReference: auth.processorReference, amountMinor: 2_000n });
    assert.equal(capture.kind === 'error' && capture.processorCode, 'invalid_state');
  });

  it('refuses an amount that JSON cannot carry exactly, without sending', async () => {
    const before = sandboxRequests;
    const outcome = await adapter.authorize({ idempotencyKey: key('big'), amountMinor: 2n ** 60n, currency: 'usd', card: card('4242424242424242'), capture: false });
    assert.equal(outcome.kind === 'error' && outcome.sent, false);
    assert.equal(sandboxRequests, before);
  });

  it('reports every call to onCall with operation, outcome kind and latency', () => {
    const authorizeReports = reports.filter((r) => r.operation === 'authorize');
    assert.ok(authorizeReports.some((r) => r.outcome === 'approved'));
    assert.ok(authorizeReports.some((r) => r.outcome === 'declined' && r.code === 'card_declined'));
    assert.ok(authorizeReports.some((r) => r.outcome === 'unknown' && r.code === 'timeout'));
    assert.ok(reports.some((r) => r.operation === 'get_operation_status' && r.outcome === 'not_found'));
    assert.ok(reports.every((r) => r.latencyMs >= 0 && Number.isFinite(r.latencyMs)));
  });
});

describe('sandbox processor adapter: faults and circuit breaker', () => {
  it('opens the circuit after consecutive failures, then fails fast without sending; closes after a good trial', async () => {
    const faulty = await buildSandboxProcessor({ logger, databaseUrl: sandboxDb.ownerUrl });
    let requests = 0;
    faulty.server.on('request', () => requests++);
    await faulty.listen({ host: '127.0.0.1', port: 0 });
    extraServers.push(faulty);
    const url = `http://127.0.0.1:${(faulty.server.address() as AddressInfo).port}`;
    const states: CircuitStateName[] = [];
    const local = makeAdapter({
      baseUrl: url,
      maxRetries: 0,
      // long enough that no stall between the assertions below lets the circuit half-open early
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 2_000 },
      onCircuitStateChange: (s) => states.push(s),
    });
    await control(url, { error_rate: 1 });
    const request = () => local.authorize({ idempotencyKey: key('cb'), amountMinor: 100n, currency: 'usd', card: card('4242424242424242'), capture: false });

    for (let i = 0; i < 3; i++) {
      const outcome = await request();
      assert.equal(outcome.kind === 'error' && outcome.code, 'processing_error');
    }
    assert.equal(local.circuitState(), 'open');
    const sentBefore = requests;
    const fast = await request();
    assert.deepEqual(fast, {
      kind: 'error',
      code: 'processor_unavailable',
      message: 'The processor circuit is open; the request was not sent.',
      retryable: true,
      sent: false,
    });
    assert.deepEqual(await local.getOperationStatus(lookup('anything')), {
      kind: 'unavailable',
      reason: 'circuit_open',
      message: 'The processor circuit is open; the query was not sent.',
      sent: false,
    });
    assert.equal(requests, sentBefore, 'nothing was sent while open');

    await control(url, { error_rate: 0 });
    await waitFor(() => (local.circuitState() === 'half_open' ? true : undefined));
    approvedAuth(await request());
    assert.equal(local.circuitState(), 'closed');
    assert.deepEqual(states, ['open', 'half_open', 'closed']);
  });

  it('declines and rejected requests do not open the circuit', async () => {
    const local = makeAdapter({ circuitBreaker: { consecutiveFailures: 2 } });
    for (let i = 0; i < 3; i++) {
      const declined = await local.authorize({ idempotencyKey: key('nb'), amountMinor: 100n, currency: 'usd', card: card('4000000000000002'), capture: false });
      assert.equal(declined.kind, 'declined');
      const rejected = await local.capture({ idempotencyKey: key('nb-c'), authorizationReference: 'auth_missing', amountMinor: 1n });
      assert.equal(rejected.kind === 'error' && rejected.httpStatus, 404);
    }
    assert.equal(local.circuitState(), 'closed');
  });

  it('stop_answering: unknown within the deadline; the parked request may still execute; the server closes cleanly', async () => {
    const hanging = await buildSandboxProcessor({ logger, databaseUrl: sandboxDb.ownerUrl });
    await hanging.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(hanging.server.address() as AddressInfo).port}`;
    const local = makeAdapter({ baseUrl: url, timeoutMs: SHORT_TIMEOUT_MS });
    await control(url, { stop_answering: true });

    // parked until released: only the adapter's own deadline can end the call
    const k = key('hang');
    const outcome = await local.authorize({ idempotencyKey: k, amountMinor: 300n, currency: 'usd', card: card('4242424242424242'), capture: false });
    assert.equal(outcome.kind === 'unknown' && outcome.reason, 'timeout');

    // The processor got the request even though we gave up: releasing it shows why "unknown" must be reconciled.
    await control(url, { stop_answering: false });
    const found = await waitFor(async () => {
      const status = await local.getOperationStatus(lookup(k));
      return status.kind === 'found' ? status : undefined;
    });
    assert.equal(found.operation, 'authorize');

    await control(url, { stop_answering: true });
    // A patient caller (its deadline beyond the test's): close must cut its parked request, not wait for it.
    const patient = makeAdapter({ baseUrl: url, timeoutMs: 600_000 });
    const pending = patient.getOperationStatus(lookup(k));
    await waitFor(async () => ((await heldRequests(url)) >= 1 ? true : undefined));
    await hanging.close();
    const cut = await pending;
    assert.equal(cut.kind, 'unavailable');
    assert.equal(cut.kind === 'unavailable' && cut.reason, 'connection_error', 'the parked request was cut, not timed out');
  });

  it('connection refused → processor_unavailable, retryable, never sent', async () => {
    const probe = createServer();
    const port = await listenPort(probe);
    await closeServer(probe);
    const local = makeAdapter({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1 });
    const outcome = await local.authorize({ idempotencyKey: key('refused'), amountMinor: 100n, currency: 'usd', card: card('4242424242424242'), capture: false });
    assert.equal(outcome.kind, 'error');
    if (outcome.kind !== 'error') return;
    assert.equal(outcome.code, 'processor_unavailable');
    assert.equal(outcome.retryable, true);
    assert.equal(outcome.sent, false);
  });

  it('an unreadable 2xx is unknown/bad_response; a foreign 404 is not taken as not_found', async () => {
    // A misbehaving processor (or proxy) in front of the adapter: a real server returning broken answers.
    const broken = createServer((req, res) => {
      if (req.url?.startsWith('/v1/operations/')) {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      } else if (req.url === '/v1/refunds') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"rf_1","object":"refund","status":"approved"}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "auth_1", truncated');
      }
    });
    const port = await listenPort(broken);
    extraServers.push({ close: () => closeServer(broken) });
    const local = makeAdapter({ baseUrl: `http://127.0.0.1:${port}` });
    const garbled = await local.authorize({ idempotencyKey: key('bad'), amountMinor: 100n, currency: 'usd', card: card('4242424242424242'), capture: false });
    assert.equal(garbled.kind === 'unknown' && garbled.reason, 'bad_response');
    const incomplete = await local.refund({ idempotencyKey: key('bad-rf'), authorizationReference: 'auth_1', amountMinor: 1n });
    assert.equal(incomplete.kind === 'unknown' && incomplete.reason, 'bad_response');
    const status = await local.getOperationStatus(lookup('whatever'));
    assert.equal(status.kind, 'unavailable');
    assert.equal(status.kind === 'unavailable' && status.httpStatus, 404);
  });
});

describe('sandbox processor adapter: bank rail and notifications', () => {
  const account = (accountNumber: string, routingNumber = '110000000') => ({
    accountNumber,
    routingNumber,
    accountType: 'checking' as const,
    holderName: 'Ada Lovelace',
  });

  async function debit(accountNumber: string): Promise<BankDebitSnapshot> {
    const outcome = await adapter.createBankDebit({ idempotencyKey: key('bd'), amountMinor: 12_345n, currency: 'USD', account: account(accountNumber) });
    assert.equal(outcome.kind, 'approved');
    if (outcome.kind !== 'approved') throw new Error('unreachable');
    assert.match(outcome.processorReference, /^bd_/);
    assert.equal(outcome.debit.status, 'submitted');
    assert.equal(outcome.debit.accountLast4, accountNumber.slice(-4));
    return outcome.debit;
  }

  async function finalState(id: string, done: (d: BankDebitSnapshot) => boolean): Promise<BankDebitSnapshot> {
    return waitFor(async () => {
      const result = await adapter.getBankDebit(id);
      assert.ok(result.kind === 'found', `debit ${id}: ${result.kind}`);
      return result.kind === 'found' && done(result.debit) ? result.debit : undefined;
    });
  }

  const eventsFor = (debitId: string) => received.filter((r) => r.json.data.debit_id === debitId);

  it('settles, returns early (R01, R03) and returns late (R10), by polling and by signed notifications', async () => {
    const startedSec = Math.floor(Date.now() / 1000);
    const [settles, r01, r03, late, other] = await Promise.all(
      ['000123456789', '000111111113', '000111111116', '000222222227', '000987654321'].map((n) => debit(n)),
    );
    assert.ok(settles && r01 && r03 && late && other);

    const settled = await finalState(settles.processorReference, (d) => d.status !== 'submitted');
    assert.equal(settled.status, 'settled');
    assert.ok(settled.settledAt && settled.settledAt.getTime() - settled.submittedAt.getTime() === SETTLE_MS);
    assert.equal(settled.returnedAt, undefined);
    assert.equal((await finalState(other.processorReference, (d) => d.status !== 'submitted')).status, 'settled');

    for (const [early, code] of [[r01, 'R01'], [r03, 'R03']] as const) {
      const returned = await finalState(early.processorReference, (d) => d.status !== 'submitted');
      assert.equal(returned.status, 'returned');
      assert.equal(returned.returnCode, code);
      assert.ok(returned.returnReason);
      assert.equal(returned.settledAt, undefined, 'returned before settlement');
      assert.ok(returned.returnedAt);
    }

    // It settles first and returns LATE_RETURN_MS later: a poll may see either state first (a busy machine polls
    // late), so the settlement is read from the returned debit itself.
    const lateReturned = await finalState(late.processorReference, (d) => d.status === 'returned');
    assert.equal(lateReturned.returnCode, 'R10');
    assert.ok(lateReturned.settledAt && lateReturned.returnedAt, 'the late-return account settled first');
    assert.equal(lateReturned.returnedAt.getTime() - lateReturned.settledAt.getTime(), LATE_RETURN_MS);

    const expected: Array<[BankDebitSnapshot, string[]]> = [
      [settles, ['bank_debit.settled']],
      [other, ['bank_debit.settled']],
      [r01, ['bank_debit.returned']],
      [r03, ['bank_debit.returned']],
      [late, ['bank_debit.settled', 'bank_debit.returned']],
    ];
    await waitFor(() => (expected.every(([d, types]) => eventsFor(d.processorReference).length >= types.length) ? true : undefined));
    const nowSec = Math.floor(Date.now() / 1000);
    const ids = new Set<string>();
    for (const [d, types] of expected) {
      const events = eventsFor(d.processorReference);
      assert.deepEqual(events.map((e) => e.json.type), types);
      for (const event of events) {
        const verdict = verifyProcessorNotification({
          secret: SECRET,
          rawBody: event.rawBody,
          header: event.headers['processor-signature'] as string | undefined,
          nowSec,
        });
        assert.equal(verdict.ok, true);
        assert.match(event.json.id, /^ntf_/);
        ids.add(event.json.id);
        assert.equal(event.json.data.idempotency_key, d.idempotencyKey);
        assert.ok(event.json.created >= startedSec - 1 && event.json.created <= nowSec + 1, `created ${event.json.created}`);
      }
    }
    assert.equal(ids.size, 6, 'one unique id per event');
    const r01Event = eventsFor(r01.processorReference)[0]!.json.data;
    assert.equal(r01Event.return_code, 'R01');
    assert.equal(r01Event.status, 'returned');
    assert.equal(r01Event.settled_at, undefined);
    const lateEvents = eventsFor(late.processorReference);
    assert.equal(lateEvents[1]!.json.data.return_code, 'R10');
    assert.ok(lateEvents[1]!.json.data.settled_at);
  });

  it('rejects a tampered notification and one with an old timestamp', () => {
    const event = received[0];
    assert.ok(event, 'a notification was received');
    const header = event.headers['processor-signature'] as string;
    const nowSec = Math.floor(Date.now() / 1000);
    const tampered = event.rawBody.replace(/"status":"\w+"/, '"status":"settled_and_paid"');
    assert.notEqual(tampered, event.rawBody);
    assert.deepEqual(verifyProcessorNotification({ secret: SECRET, rawBody: tampered, header, nowSec }), { ok: false, reason: 'signature_mismatch' });
    assert.deepEqual(verifyProcessorNotification({ secret: SECRET, rawBody: event.rawBody, header, nowSec: nowSec + 301 }), {
      ok: false,
      reason: 'timestamp_out_of_tolerance',
    });
    assert.equal(verifyProcessorNotification({ secret: 'wrong', rawBody: event.rawBody, header, nowSec }).ok, false);
  });

  it('drop_notifications skips pushes while polling still tells the truth', async () => {
    await control(sandboxUrl, { drop_notifications: true });
    try {
      const d = await debit('000123456789');
      const settled = await finalState(d.processorReference, (s) => s.status === 'settled');
      assert.equal(settled.status, 'settled');
      // the notifier has dealt with the settlement event (dropped it): anything it would push has been pushed
      await waitFor(async () => ((await outboxStates(d.processorReference)).includes('dropped') ? true : undefined));
      assert.equal(eventsFor(d.processorReference).length, 0);
    } finally {
      await control(sandboxUrl, { drop_notifications: false });
    }
  });

  it('retries a failed push with the same event id, then gives up after the last attempt', async () => {
    const outcome = await adapter.createBankDebit({ idempotencyKey: key('bd-f'), amountMinor: 1n, currency: 'usd', account: account('000123456789') });
    assert.equal(outcome.kind, 'approved');
    if (outcome.kind !== 'approved') return;
    failingDebits.add(outcome.processorReference);
    // 3 attempts: at settlement, +20 ms, +40 ms; then the notifier gives up and sends nothing more.
    await waitFor(async () => ((await outboxStates(outcome.processorReference)).includes('given_up') ? true : undefined));
    const attempts = eventsFor(outcome.processorReference);
    assert.equal(attempts.length, 3);
    assert.equal(new Set(attempts.map((a) => a.json.id)).size, 1);
  });

  it('declines an unknown routing number; credits need a settled debit and stay within its amount', async () => {
    const declined = await adapter.createBankDebit({ idempotencyKey: key('bd-r'), amountMinor: 100n, currency: 'usd', account: account('000123456789', '021000021') });
    assert.equal(declined.kind === 'declined' && declined.code, 'invalid_routing_number');

    const d = await debit('000123456789');
    const early = await adapter.createBankCredit({ idempotencyKey: key('bc-early'), debitReference: d.processorReference, amountMinor: 100n });
    assert.equal(early.kind === 'error' && early.processorCode, 'invalid_state');
    await finalState(d.processorReference, (s) => s.status === 'settled');
    const creditKey = key('bc');
    const credit = await adapter.createBankCredit({ idempotencyKey: creditKey, debitReference: d.processorReference, amountMinor: 10_000n });
    assert.equal(credit.kind, 'approved');
    if (credit.kind !== 'approved') return;
    assert.match(credit.processorReference, /^bc_/);
    assert.equal(credit.amountMinor, 10_000n);
    assert.equal(credit.currency, 'USD');
    const status = await adapter.getOperationStatus(lookup(creditKey));
    assert.deepEqual(status, { kind: 'found', operation: 'bank_credit', outcome: credit });
    const over = await adapter.createBankCredit({ idempotencyKey: key('bc-over'), debitReference: d.processorReference, amountMinor: 2_346n });
    assert.equal(over.kind === 'error' && over.processorCode, 'amount_exceeds_debit');
    assert.deepEqual(await adapter.getBankDebit('bd_does_not_exist'), { kind: 'not_found' });
  });
});
