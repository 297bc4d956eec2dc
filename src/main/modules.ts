import { ConfigError, type Config } from '../platform/config.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { HttpApp } from '../platform/http/app.js';
import type { WorkerJob } from '../platform/worker-loop.js';
import { createKeyRing, type KeyRing } from '../platform/crypto.js';
import { Secret } from '../platform/secret.js';
import { registerAuthHook } from '../platform/http/auth-hook.js';
import { CLOCK_TOLERANCE_SECONDS, createAccessTokenVerifier, createKeyCache, registerAuthRoutes, type KeyCache, type KeyLifecycle } from '../modules/auth/index.js';
import { ensurePlatformAdminClient, registerTenantRoutes } from '../modules/tenants/index.js';
import { eventPurgeJob, registerEventRoutes } from '../modules/events/index.js';
import { registerWebhookRoutes, webhookUrlPolicy, webhookWorkerJobs } from '../modules/webhooks/index.js';

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

/** Registers every module's routes on the API app. */
export async function registerModules(app: HttpApp, deps: ModuleDeps): Promise<ModuleServices> {
  const { config, db, logger, metrics } = deps;
  const keyRing = keyRingFor(config);
  const life = keyLifecycle(config);
  const keys = createKeyCache({ db, keyRing, life, logger, cacheTtlMs: life.signingCacheTtlMs });
  const settings = { issuer: config.issuerUrl, audience: config.audience, ttlSeconds: config.accessTokenTtlSeconds };

  registerAuthHook(app, createAccessTokenVerifier(keys, settings));
  registerAuthRoutes(app, { db, keys, keyRing, life, settings, metrics });
  registerTenantRoutes(app, { db });
  registerEventRoutes(app, { db });
  registerWebhookRoutes(app, { db, keyRing, urlPolicy: webhookUrlPolicy(config) });

  if (config.adminClientSecret) await ensurePlatformAdminClient(db, config.adminClientId, new Secret(config.adminClientSecret));
  await keys.refresh();
  return { keyRing, keys, async close() {} };
}

/** Every background job of the worker role. */
export function workerJobs(deps: ModuleDeps): { jobs: WorkerJob[]; close(): Promise<void> } {
  const webhooks = webhookWorkerJobs({ ...deps, keyRing: keyRingFor(deps.config) });
  return {
    jobs: [...webhooks.jobs, eventPurgeJob(deps)],
    async close() {
      await webhooks.close();
    },
  };
}
