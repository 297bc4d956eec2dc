import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { buildSandboxProcessor, type SandboxOptions } from '../../src/sandbox-processor/index.js';
import {
  createSandboxProcessorAdapter,
  type AuthorizeOutcome,
  type ProcessorCallReport,
  type SandboxProcessorAdapter,
  type SandboxProcessorAdapterOptions,
} from '../../src/modules/processors/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/**
 * The sandbox processor in this test process, on a database of its own, with a real loopback receiver for its
 * signed notifications: what the sandbox's own tests and the adapter's tests (src/modules/processors) stand on.
 */

export const silentLogger = pino({ level: 'silent' });

export interface ReceivedNotification {
  headers: IncomingHttpHeaders;
  rawBody: string;
  json: { id: string; type: string; created: number; data: Record<string, unknown> };
}

export interface NotificationReceiver {
  url: string;
  received: ReceivedNotification[];
  /** debit ids for which the receiver answers 500 (to exercise push retries); 204 otherwise */
  failingDebits: Set<string>;
  close(): Promise<void>;
}

export function listenPort(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A real HTTP receiver on loopback, recording every push the sandbox makes. */
export async function startNotificationReceiver(): Promise<NotificationReceiver> {
  const received: ReceivedNotification[] = [];
  const failingDebits = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const json = JSON.parse(rawBody) as ReceivedNotification['json'];
      received.push({ headers: req.headers, rawBody, json });
      res.writeHead(failingDebits.has(json.data.debit_id as string) ? 500 : 204).end();
    });
  });
  const port = await listenPort(server);
  return { url: `http://127.0.0.1:${port}/processor-notifications`, received, failingDebits, close: () => closeServer(server) };
}

/** A sandbox processor listening on loopback; `requests()` counts the HTTP requests it received. */
export async function startSandbox(db: TestDatabase, options: Partial<SandboxOptions> = {}): Promise<{ app: FastifyInstance; url: string; requests(): number }> {
  const app = await buildSandboxProcessor({ logger: silentLogger, databaseUrl: db.ownerUrl, ...options });
  let requests = 0;
  app.server.on('request', () => requests++);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, requests: () => requests };
}

/** Rows of the sandbox's own schema (sandbox_processor), read as the database owner. */
export async function sandboxQuery<T>(db: TestDatabase, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** What the sandbox's notifier did with each event of a debit (its outbox rows, oldest first). */
export async function outboxStates(db: TestDatabase, debitId: string): Promise<string[]> {
  const rows = await sandboxQuery<{ state: string }>(db, 'SELECT state FROM sandbox_processor.notification_outbox WHERE debit_id = $1 ORDER BY id', [debitId]);
  return rows.map((r) => r.state);
}

/**
 * The adapter's tests: timings. Ordinary calls get ADAPTER_TIMEOUT_MS, far more than a busy machine needs; only the
 * tests of the timeout itself use SHORT_TIMEOUT_MS, against answers held LOST_MS (or forever), far longer still, so
 * the timeout is the only way those calls can end. Debits settle after SETTLE_MS, late returns LATE_RETURN_MS later.
 */
export const ADAPTER_TIMEOUT_MS = 10_000;
export const SHORT_TIMEOUT_MS = 300;
export const LOST_MS = 10_000;
export const SETTLE_MS = 100;
export const LATE_RETURN_MS = 150;
export const NOTIFICATION_SECRET = 'psk_test_notifications';

export interface AdapterFixture {
  sandboxDb: TestDatabase;
  sandboxUrl: string;
  /** HTTP requests the shared sandbox received so far */
  sandboxRequests(): number;
  receiver: NotificationReceiver;
  /** the shared adapter: its circuit never opens in these tests, and it reports every call to `reports` */
  adapter: SandboxProcessorAdapter;
  reports: ProcessorCallReport[];
  /** another adapter (on the shared sandbox unless `baseUrl` says otherwise), closed with the fixture */
  makeAdapter(overrides?: Partial<SandboxProcessorAdapterOptions>): SandboxProcessorAdapter;
  /** closes `closable` with the fixture */
  closeLater(closable: { close(): Promise<unknown> | void }): void;
  close(): Promise<void>;
}

/** A sandbox processor on its own database, its notification receiver, and adapters talking to it over loopback. */
export async function startAdapterFixture(): Promise<AdapterFixture> {
  const closables: Array<{ close(): Promise<unknown> | void }> = [];
  const closeLater = (closable: { close(): Promise<unknown> | void }) => void closables.push(closable);
  const receiver = await startNotificationReceiver();
  closeLater(receiver);
  let sandboxDb: TestDatabase | undefined;
  try {
    sandboxDb = await createTestDatabase();
    const sandbox = await startSandbox(sandboxDb, {
      lostResponseDelayMs: LOST_MS,
      settlementDelayMs: SETTLE_MS,
      lateReturnDelayMs: LATE_RETURN_MS,
      notificationUrl: receiver.url,
      notificationSecret: NOTIFICATION_SECRET,
      notificationMaxAttempts: 3,
      notificationRetryBaseDelayMs: 20,
    });
    closeLater(sandbox.app);
    const reports: ProcessorCallReport[] = [];
    const makeAdapter = (overrides: Partial<SandboxProcessorAdapterOptions> = {}) => {
      const created = createSandboxProcessorAdapter({
        baseUrl: sandbox.url,
        timeoutMs: ADAPTER_TIMEOUT_MS,
        connectTimeoutMs: 2_000,
        maxRetries: 2,
        retryBaseDelayMs: 10,
        logger: silentLogger,
        ...overrides,
      });
      closeLater(created);
      return created;
    };
    const adapter = makeAdapter({
      // High threshold: the fault tests must not open the shared adapter's circuit.
      circuitBreaker: { consecutiveFailures: 50 },
      onCall: (report) => reports.push(report),
    });
    const db = sandboxDb;
    return {
      sandboxDb: db,
      sandboxUrl: sandbox.url,
      sandboxRequests: sandbox.requests,
      receiver,
      adapter,
      reports,
      makeAdapter,
      closeLater,
      async close() {
        // adapters first (they may hold requests to the servers), then the servers, then the database; one that
        // fails to close must not leave the others listening (the test file's process could not exit)
        const errors: unknown[] = [];
        for (const closable of closables.splice(0).reverse()) {
          try {
            await closable.close();
          } catch (error) {
            errors.push(error);
          }
        }
        await db.drop();
        if (errors.length > 0) throw errors[0];
      },
    };
  } catch (error) {
    for (const closable of closables.reverse()) await Promise.resolve(closable.close()).catch(() => {});
    await sandboxDb?.drop().catch(() => {});
    throw error;
  }
}

/**
 * `startAdapterFixture` for the tests of the enclosing file or `describe`: started in a `before` hook, closed in an
 * `after` hook whatever the outcome. Read its fields inside the tests: they are set when `before` has run.
 */
export function useAdapterFixture(): AdapterFixture {
  const fx = {} as AdapterFixture;
  let started: AdapterFixture | undefined;
  before(async () => {
    started = await startAdapterFixture();
    Object.assign(fx, started);
  });
  after(async () => {
    await started?.close();
  });
  return fx;
}

let seq = 0;
/** A fresh idempotency key (attempt ids are unique per test process). */
export const attemptKey = (label: string) => `att_${label}_${process.pid}_${++seq}`;
/** The sandbox finds an operation by its key alone; the rest of the lookup is for processors that need it. */
export const lookup = (idempotencyKey: string) => ({ idempotencyKey, operation: 'authorize' as const, createdAt: new Date() });
const futureYear = new Date().getUTCFullYear() + 3;
export const testCard = (number: string, cvc = '123') => ({ number, expMonth: 12, expYear: futureYear, cvc });

export function approvedAuth(outcome: AuthorizeOutcome): Extract<AuthorizeOutcome, { kind: 'approved' }> {
  assert.equal(outcome.kind, 'approved', JSON.stringify(outcome, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  return outcome as Extract<AuthorizeOutcome, { kind: 'approved' }>;
}
