import { ConfigError, type Config } from '../platform/config.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { HttpApp } from '../platform/http/app.js';
import type { WorkerJob } from '../platform/worker-loop.js';
import { createKeyRing, type KeyRing } from '../platform/crypto.js';
import { Secret } from '../platform/secret.js';
import { registerAuthHook } from '../platform/http/auth-hook.js';
import {
  CLOCK_TOLERANCE_SECONDS, clientAuthPurgeJob, createAccessTokenVerifier, createKeyCache, registerAuthRoutes, type KeyCache, type KeyLifecycle,
} from '../modules/auth/index.js';
import { ensurePlatformAdminClient, registerTenantRoutes } from '../modules/tenants/index.js';
import { createEventFeed, eventPurgeJob, registerEventFeedRoute, registerEventRoutes } from '../modules/events/index.js';
import {
  createSandboxProcessorAdapter, createStripeProcessorAdapter, type CircuitStateName, type ProcessorAdapter, type ProcessorCallReport,
} from '../modules/processors/index.js';
import {
  pollBankRailJob, reconcileJob, registerPaymentRoutes, registerProcessorNotificationRoutes, submitBankTransfersJob,
  type BankTransfersDeps, type PaymentsDeps,
} from '../modules/payments/index.js';
import type { IdempotencySettings } from '../platform/http/idempotency.js';
import { purgeIdempotencyKeys } from '../platform/idempotency.repository.js';
import { registerWebhookRoutes, webhookUrlPolicy, webhookWorkerJobs } from '../modules/webhooks/index.js';
import { registerSupport, registerTenantRequestLogRoute, supportWorkerJobs } from '../modules/support/index.js';
import type { ReadinessState } from '../platform/http/health-routes.js';
import fastifyCookie from '@fastify/cookie';
import { createOidcClient, createStaffSessionAuthenticator, registerStaffRoutes, staffPurgeJob, type StaffDeps } from '../modules/staff/index.js';

export interface ModuleDeps {
  config: Config;
  logger: Logger;
  db: Db;
  metrics: Metrics;
}

/** Long-lived objects the modules create (processor adapter, key cache…) that the process must close. */
export interface ModuleServices {
  keyRing: KeyRing;
  keys: KeyCache;
  close(): Promise<void>;
}

export function keyRingFor(config: Config): KeyRing {
  if (!config.masterKey) throw new ConfigError(['NIMBUSPAY_MASTER_KEY is required outside development']);
  return createKeyRing(new Secret(config.masterKey));
}

export function keyLifecycle(config: Config): KeyLifecycle {
  return { tokenTtlSeconds: config.accessTokenTtlSeconds, clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS, signingCacheTtlMs: 30_000 };
}

const CIRCUIT_GAUGE = { closed: 0, half_open: 1, open: 2 } as const;
const PROCESSOR_RETRIES = 2;
const PROCESSOR_RETRY_BASE_DELAY_MS = 100;

/** The configured processor's adapter, feeding processor latency, outcomes and circuit state to Prometheus. */
export function createProcessor(config: Config, logger: Logger, metrics: Metrics): ProcessorAdapter {
  metrics.processorCircuitState.set(CIRCUIT_GAUGE.closed);
  const hooks = {
    onCall: (report: ProcessorCallReport) => metrics.processorRequestDuration.observe({ operation: report.operation, outcome: report.code ? `${report.outcome}:${report.code}` : report.outcome }, report.latencyMs / 1000),
    onCircuitStateChange: (state: CircuitStateName) => metrics.processorCircuitState.set(CIRCUIT_GAUGE[state]),
  };
  if (config.processor === 'stripe') {
    if (!config.stripeSecretKey) throw new ConfigError(['STRIPE_SECRET_KEY is required with PROCESSOR=stripe']);
    return createStripeProcessorAdapter({
      secretKey: config.stripeSecretKey,
      apiBase: config.stripeApiBase,
      timeoutMs: config.processorTimeoutMs,
      maxRetries: PROCESSOR_RETRIES,
      retryBaseDelayMs: PROCESSOR_RETRY_BASE_DELAY_MS,
      searchConsistencyMs: config.stripeSearchConsistencyMs,
      logger,
      ...hooks,
    });
  }
  return createSandboxProcessorAdapter({
    baseUrl: config.sandboxProcessorUrl,
    timeoutMs: config.processorTimeoutMs,
    connectTimeoutMs: config.processorConnectTimeoutMs,
    maxRetries: PROCESSOR_RETRIES,
    retryBaseDelayMs: PROCESSOR_RETRY_BASE_DELAY_MS,
    logger,
    connections: Math.max(16, config.dbPoolMax * 2),
    ...hooks,
  });
}

/** Everything the payments module needs; `inFlightMs` bounds how long one processor call (with retries) can last. */
export function paymentsDeps(deps: ModuleDeps, keyRing: KeyRing, processor: ProcessorAdapter): PaymentsDeps {
  const { config } = deps;
  const inFlightMs = config.processorTimeoutMs * (PROCESSOR_RETRIES + 1) + PROCESSOR_RETRY_BASE_DELAY_MS * 2 ** PROCESSOR_RETRIES + 1_000;
  return {
    db: deps.db,
    processor,
    metrics: deps.metrics,
    logger: deps.logger,
    keyRing,
    inFlightMs,
    reconcileIntervalsMs: config.reconcileIntervalsMs,
    bankSubmitDelayMs: config.bankTransferSubmitDelayMs,
  };
}

/** Payments deps plus the bank rail's timing (expected settlement, poll interval, return window). */
export function bankTransfersDeps(deps: ModuleDeps, payments: PaymentsDeps): BankTransfersDeps {
  const { config } = deps;
  return {
    ...payments,
    bank: {
      expectedSettlementMs: config.bankExpectedSettlementMs,
      pollIntervalMs: config.bankRailPollIntervalMs,
      returnWindowMs: config.bankReturnWindowMs,
    },
  };
}

/**
 * The lease outlives a normal request (its processor call is bounded by inFlightMs), so a key is taken over only
 * after a crash. Even an early takeover is safe: the resumed handler finds the payment or refund created under the
 * key (unique per tenant) or the attempt still open, and never charges twice.
 */
export function idempotencySettings(deps: ModuleDeps, keyRing: KeyRing, inFlightMs: number): IdempotencySettings {
  return {
    db: deps.db, fingerprintKey: keyRing.key('idempotency-fingerprint'), leaseMs: inFlightMs + 5_000, retentionHours: deps.config.idempotencyKeyTtlHours,
  };
}

/** Registers every module's routes on the API app; `api` is the API's readiness, for the support health page. */
export async function registerModules(
  app: HttpApp,
  deps: ModuleDeps & { api?: { readiness: ReadinessState; expectedMigrations: number }; documentOnly?: boolean },
): Promise<ModuleServices> {
  const { config, db, logger, metrics } = deps;
  const keyRing = keyRingFor(config);
  const life = keyLifecycle(config);
  const keys = createKeyCache({ db, keyRing, life, logger, cacheTtlMs: life.signingCacheTtlMs });
  const settings = { issuer: config.issuerUrl, audience: config.audience, ttlSeconds: config.accessTokenTtlSeconds };

  const staff: StaffDeps = { db, keyRing, config, now: () => new Date() };
  await app.register(fastifyCookie);
  registerAuthHook(app, createAccessTokenVerifier(keys, settings), createStaffSessionAuthenticator(staff));
  // A half-configured SSO would leave the console without its production sign-in: refuse to start instead.
  if (config.staffOidcIssuer && !config.staffOidcClientSecret) throw new ConfigError(['STAFF_OIDC_CLIENT_SECRET is required with STAFF_OIDC_ISSUER']);
  registerStaffRoutes(app, { ...staff, logger, oidc: createOidcClient(staff) });
  registerAuthRoutes(app, { db, keys, keyRing, life, settings, metrics });
  registerTenantRoutes(app, { db, keyRing });
  const processor = createProcessor(config, logger, metrics);
  const payments = paymentsDeps(deps, keyRing, processor);
  registerPaymentRoutes(app, payments, idempotencySettings(deps, keyRing, payments.inFlightMs));
  registerProcessorNotificationRoutes(app, {
    ...bankTransfersDeps(deps, payments),
    // Only the configured processor may notify, and only when a secret is shared with it.
    notificationSecrets: new Map(config.processor === 'sandbox' && config.processorNotificationSecret ? [['sandbox', new Secret(config.processorNotificationSecret)]] : []),
    stripeWebhookSecrets: config.processor === 'stripe' ? config.stripeWebhookSecrets.map((s) => new Secret(s)) : [],
  });
  registerEventRoutes(app, { db });
  registerEventFeedRoute(app, createEventFeed(db));
  registerWebhookRoutes(app, { db, keyRing, urlPolicy: webhookUrlPolicy(config) });
  const readiness = deps.api?.readiness;
  const support = registerSupport(app, {
    config, db, logger, metrics, processor, inFlightMs: payments.inFlightMs,
    api: { isReady: () => readiness?.shuttingDown !== true, expectedMigrations: deps.api?.expectedMigrations ?? 0 },
  });
  registerTenantRequestLogRoute(app, { db });

  // the OpenAPI export builds the routes without a database: nothing below runs there
  if (!deps.documentOnly) {
    if (config.adminClientSecret) await ensurePlatformAdminClient(db, keyRing, config.adminClientId, new Secret(config.adminClientSecret));
    await keys.refresh();
  }
  return {
    keyRing,
    keys,
    async close() {
      await support.close();
      await processor.close();
    },
  };
}

/** Every background job of the worker role. */
export function workerJobs(deps: ModuleDeps): { jobs: WorkerJob[]; close(): Promise<void> } {
  const keyRing = keyRingFor(deps.config);
  const webhooks = webhookWorkerJobs({ ...deps, keyRing });
  const support = supportWorkerJobs(deps);
  const processor = createProcessor(deps.config, deps.logger, deps.metrics);
  const payments = bankTransfersDeps(deps, paymentsDeps(deps, keyRing, processor));
  const idle = deps.config.workerPollIntervalMs;
  return {
    jobs: [
      reconcileJob(payments, { idleDelayMs: idle }),
      submitBankTransfersJob(payments, { idleDelayMs: idle }),
      pollBankRailJob(payments, { idleDelayMs: idle }),
      { name: 'purge-idempotency-keys', idleDelayMs: 60_000, runOnce: () => purgeIdempotencyKeys(deps.db, deps.config.idempotencyKeyTtlHours) },
      ...webhooks.jobs,
      eventPurgeJob(deps),
      staffPurgeJob(deps),
      clientAuthPurgeJob(deps),
      ...support.jobs,
    ],
    async close() {
      await webhooks.close();
      await support.close();
      await processor.close();
    },
  };
}
