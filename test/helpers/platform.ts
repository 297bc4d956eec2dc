import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/platform/config.js';
import { createDb, type DbHandle } from '../../src/platform/db.js';
import { createLogger, type Logger } from '../../src/platform/logger.js';
import { startApi, type ApiRuntime } from '../../src/main/api.js';
import { startWorker } from '../../src/main/worker.js';
import { startSandboxProcessorRole } from '../../src/main/sandbox-processor.js';
import { startStripeLocalRole } from '../../src/main/stripe-local.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { freePort } from './net.js';

/** Every log line the platform wrote, parsed; tests grep it for secrets and request ids. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    if (process.env.TEST_LOG === '1') process.stderr.write(chunk);
    cb();
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export { freePort };

/**
 * Environment for a platform role started as its own OS process (`nimbuspay api|worker`) against this test
 * platform's database, keys and sandbox, as replicas run beside each other in Kubernetes.
 */
export function roleProcessEnv(platform: TestPlatform, extra: Record<string, string>): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    NIMBUSPAY_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: platform.db.appUrl,
    NIMBUSPAY_MASTER_KEY: platform.config.masterKey!,
    NIMBUSPAY_ADMIN_CLIENT_SECRET: platform.config.adminClientSecret!,
    PROCESSOR_NOTIFICATION_SECRET: platform.config.processorNotificationSecret!,
    NIMBUSPAY_PUBLIC_URL: platform.baseUrl,
    NIMBUSPAY_ISSUER_URL: platform.config.issuerUrl,
    NIMBUSPAY_DEMO_TENANT: 'false',
    SANDBOX_PROCESSOR_URL: platform.sandboxUrl,
    ...extra,
  };
}

export interface TestPlatform {
  config: Config;
  db: TestDatabase;
  database: DbHandle;
  logger: Logger;
  logs: LogCapture;
  api: ApiRuntime & { url: string; metricsUrl: string; close(): Promise<void> };
  baseUrl: string;
  /** The processor role this platform talks to: the sandbox, or the local Stripe server when `processor: 'stripe'`. */
  sandboxUrl: string;
  processor: 'sandbox' | 'stripe';
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string }): Promise<TestResponse>;
  startWorker(): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/**
 * The real platform for one test file: its own database, the sandbox processor on a real port, the API on a real
 * port, and (on request) the worker — built by the same composition roots as production.
 */
export const STRIPE_TEST_KEY = 'sk_test_nimbuspay_local_tests';
export const STRIPE_TEST_WEBHOOK_SECRET = 'whsec_nimbuspay_local_tests';

export async function startTestPlatform(options: { env?: Record<string, string>; worker?: boolean; processor?: 'sandbox' | 'stripe' } = {}): Promise<TestPlatform> {
  const db = await createTestDatabase();
  const [apiPort, sandboxPort] = [await freePort(), await freePort()];
  const baseUrl = `http://127.0.0.1:${apiPort}`;
  const processor = options.processor ?? 'sandbox';
  // With Stripe, the processor role is the local Stripe-compatible server, reached through the official SDK.
  const stripeEnv: Record<string, string> = processor === 'stripe'
    ? {
        PROCESSOR: 'stripe',
        STRIPE_SECRET_KEY: STRIPE_TEST_KEY,
        STRIPE_WEBHOOK_SECRETS: STRIPE_TEST_WEBHOOK_SECRET,
        STRIPE_API_BASE: `http://127.0.0.1:${sandboxPort}`,
        STRIPE_SEARCH_CONSISTENCY_MS: '500',
      }
    : {};
  const config = loadConfig({
    NIMBUSPAY_ENV: 'development',
    LOG_LEVEL: 'info',
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    NIMBUSPAY_PUBLIC_URL: baseUrl,
    DATABASE_URL: db.appUrl,
    MIGRATION_DATABASE_URL: db.ownerUrl,
    NIMBUSPAY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    NIMBUSPAY_ADMIN_CLIENT_SECRET: 'test-admin-secret-0123456789abcdef',
    PROCESSOR_NOTIFICATION_SECRET: 'test-notification-secret-0123456789',
    NIMBUSPAY_DEMO_TENANT: 'false',
    SANDBOX_PROCESSOR_PORT: String(sandboxPort),
    SANDBOX_DATABASE_URL: db.ownerUrl,
    PROCESSOR_TIMEOUT_MS: '1000',
    SANDBOX_LOST_RESPONSE_DELAY_MS: '1500',
    SANDBOX_SETTLEMENT_DELAY_MS: '200',
    SANDBOX_LATE_RETURN_DELAY_MS: '200',
    BANK_TRANSFER_SUBMIT_DELAY_MS: '100',
    RECONCILE_INTERVALS_MS: '50,100,200',
    WORKER_POLL_INTERVAL_MS: '20',
    WEBHOOK_RETRY_SCHEDULE_MS: '50,100,200,400',
    WEBHOOK_TIMEOUT_MS: '2000',
    SHUTDOWN_TIMEOUT_MS: '3000',
    ...stripeEnv,
    ...options.env,
  });
  const logs = new LogCapture();
  const logger = createLogger({ level: config.logLevel, name: 'test' }, logs);
  const database = createDb({ connectionString: config.databaseUrl!, max: config.dbPoolMax, applicationName: 'nimbuspay-test' });
  const sandbox = processor === 'stripe'
    ? await startStripeLocalRole({
        host: '127.0.0.1',
        port: sandboxPort,
        databaseUrl: db.ownerUrl,
        webhookUrl: `${baseUrl}/v1/processor_notifications/stripe`,
        webhookSecret: STRIPE_TEST_WEBHOOK_SECRET,
        settlementDelayMs: config.sandboxSettlementDelayMs,
        logger,
      })
    : await startSandboxProcessorRole(config, logger);
  const api = await startApi({ config, logger, database });
  const workers: Array<{ close(): Promise<void> }> = [];
  const platform: TestPlatform = {
    config,
    db,
    database,
    logger,
    logs,
    api,
    baseUrl,
    sandboxUrl: sandbox.url,
    processor,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined = opts.rawBody;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async startWorker() {
      const w = await startWorker({ config, logger, database, healthServer: false });
      workers.push(w);
      return w;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await api.close();
      await sandbox.close();
      await database.close();
      await db.drop();
    },
  };
  if (options.worker) await platform.startWorker();
  return platform;
}
