import type { Config } from '../platform/config.js';
import type { DbHandle } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { createMetrics, registerPoolMetrics, type Metrics } from '../platform/metrics.js';
import { runWorkerJobs } from '../platform/worker-loop.js';
import { createHttpApp, type HttpApp } from '../platform/http/app.js';
import { registerHealthRoutes, registerMetricsRoute, type ReadinessState } from '../platform/http/health-routes.js';
import { readMigrationFiles } from '../platform/migrations.js';
import { workerJobs } from './modules.js';

/**
 * The worker role: webhook delivery, reconciliation of unknown outcomes, bank-transfer submission and housekeeping.
 * Any number of replicas may run: every job claims its rows with FOR UPDATE SKIP LOCKED.
 * With `healthServer` it serves /healthz, /readyz and /metrics on HEALTH_PORT (for Kubernetes probes).
 */
export async function startWorker(deps: {
  config: Config;
  logger: Logger;
  database: DbHandle;
  healthServer: boolean;
  metrics?: Metrics;
}): Promise<{ metrics: Metrics; healthUrl?: string; close(): Promise<void> }> {
  const logger = deps.logger.child({ role: 'worker' });
  const metrics = deps.metrics ?? createMetrics({ role: 'worker' });
  if (!deps.metrics) registerPoolMetrics(metrics, deps.database.pool);
  const { jobs, close: closeJobs } = workerJobs({ config: deps.config, logger, db: deps.database.db, metrics });
  const running = runWorkerJobs(jobs, logger);
  let health: HttpApp | undefined;
  let healthUrl: string | undefined;
  const readiness: ReadinessState = { shuttingDown: false };
  if (deps.healthServer) {
    health = await createHttpApp({ logger, bodyLimitBytes: 1024, publicUrl: '', title: 'worker' });
    registerHealthRoutes(health, {
      db: deps.database.db,
      expectedMigrationVersion: (await readMigrationFiles()).length,
      state: readiness,
    });
    if (deps.config.metricsPort === undefined) registerMetricsRoute(health, metrics);
    healthUrl = await health.listen({ port: deps.config.healthPort, host: deps.config.host });
  }
  logger.info({ jobs: jobs.map((j) => j.name) }, 'worker started');
  return {
    metrics,
    ...(healthUrl ? { healthUrl } : {}),
    async close() {
      readiness.shuttingDown = true;
      await running.stop();
      await closeJobs();
      await health?.close();
    },
  };
}
