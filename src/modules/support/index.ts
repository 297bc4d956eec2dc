import { readFileSync } from 'node:fs';
import type { Config } from '../../platform/config.js';
import type { Db } from '../../platform/db.js';
import type { HttpApp } from '../../platform/http/app.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import type { CircuitStateName } from '../processors/index.js';
import { createRequestLogRecorder, registerRequestLog, type RequestLogOptions, type RequestLogRecorder } from './request-log.js';
import { registerSupportReadRoutes } from './support.routes.js';
import { registerSupportActionRoutes } from './actions.routes.js';
import { requestLogPurgeJob, workerHeartbeatJob } from './support-jobs.js';

export { createRequestLogRecorder, registerRequestLog, type RequestLogRecorder } from './request-log.js';
export { registerTenantRequestLogRoute } from './tenant-request-log.routes.js';
export { purgeRequestLog, requestLogPurgeJob, workerHeartbeatJob } from './support-jobs.js';

export interface SupportDeps {
  config: Config;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  processor: { circuitState(): CircuitStateName };
  /** Card payments `processing` longer than this are reported stuck (the longest a processor call can last). */
  inFlightMs: number;
  /** The API's own readiness (false once it is shutting down) and the migration version this build expects. */
  api: { isReady(): boolean; expectedMigrations: number };
  requestLog?: RequestLogOptions;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The support API (/v1/support/…) and the request log every API request is written to. Call before the other
 * modules register their routes. `close` writes what the request log still buffers: call it after the server drained.
 */
export function registerSupport(app: HttpApp, deps: SupportDeps): { requestLog: RequestLogRecorder; close(): Promise<void> } {
  const { config, db } = deps;
  const requestLog = createRequestLogRecorder(deps, deps.requestLog);
  registerRequestLog(app, requestLog);
  registerSupportReadRoutes(app, {
    db,
    logs: config,
    health: {
      db,
      environment: config.env,
      version: packageVersion(),
      apiReady: deps.api.isReady,
      expectedMigrations: deps.api.expectedMigrations,
      processor: { name: config.processor, circuitState: () => deps.processor.circuitState() },
      stuckAfterMs: deps.inFlightMs,
    },
  });
  registerSupportActionRoutes(app, { db });
  return { requestLog, close: () => requestLog.close() };
}

/** The support module's worker jobs: the request log purge and this worker's heartbeat. */
export function supportWorkerJobs(deps: { config: Config; db: Db; logger: Logger }): { jobs: WorkerJob[]; close(): Promise<void> } {
  const heartbeat = workerHeartbeatJob(deps);
  return {
    jobs: [heartbeat, requestLogPurgeJob({ db: deps.db, retentionDays: deps.config.requestLogRetentionDays })],
    close: () => heartbeat.close(),
  };
}
