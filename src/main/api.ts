import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../platform/config.js';
import type { DbHandle } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { createMetrics, registerPoolMetrics, type Metrics } from '../platform/metrics.js';
import { createHttpApp, drainHandlers, type HttpApp } from '../platform/http/app.js';
import { registerHealthRoutes, registerMetricsRoute, type ReadinessState } from '../platform/http/health-routes.js';
import { readMigrationFiles } from '../platform/migrations.js';
import { registerModules, type ModuleServices } from './modules.js';
import { registerConsole } from './console-static.js';
import { GUIDES_DIR, registerDocs } from '../docs/docs-routes.js';
import { webhookRetrySchedule } from '../modules/webhooks/index.js';

export interface ApiRuntime {
  app: HttpApp;
  metrics: Metrics;
  services: ModuleServices;
  readiness: ReadinessState;
}

/**
 * Builds the API app: the one place that wires platform pieces and modules together. Tests build the app with
 * this same function, so what they exercise is what runs.
 */
export async function buildApi(deps: {
  config: Config;
  logger: Logger;
  database: DbHandle;
  /** Build the routes only, for the OpenAPI document (scripts/openapi-export.ts): no start-up query. */
  documentOnly?: boolean;
}): Promise<ApiRuntime> {
  const { config, logger, database } = deps;
  const metrics = createMetrics({ role: 'api' });
  registerPoolMetrics(metrics, database.pool);
  const readiness: ReadinessState = { shuttingDown: false };
  const migrations = await readMigrationFiles();
  const app = await createHttpApp({
    logger,
    metrics,
    bodyLimitBytes: config.bodyLimitBytes,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxyHops,
    title: 'NimbusPay API',
    // the reference's introduction is a guide file, so it is written and reviewed like the other guides
    description: await readFile(path.join(GUIDES_DIR, 'introduction.md'), 'utf8'),
    openapi: true,
    tokenUrl: `${config.issuerUrl}/oauth/token`,
    // development is plain http on localhost; everywhere else the API is only reached over https (the ALB)
    hsts: config.env !== 'development',
  });
  registerHealthRoutes(app, { db: database.db, expectedMigrationVersion: migrations.length, state: readiness });
  if (config.metricsPort === undefined) registerMetricsRoute(app, metrics);
  const services = await registerModules(app, { config, logger, db: database.db, metrics, api: { readiness, expectedMigrations: migrations.length }, documentOnly: deps.documentOnly });
  await registerDocs(app, { webhookRetryScheduleMs: webhookRetrySchedule(config) });
  await registerConsole(app);
  await app.ready();
  return { app, metrics, services, readiness };
}

/** Starts the API (and the separate metrics server when METRICS_PORT is set); `close` drains in-flight requests. */
export async function startApi(deps: { config: Config; logger: Logger; database: DbHandle }): Promise<ApiRuntime & {
  url: string;
  metricsUrl: string;
  close(): Promise<void>;
}> {
  const runtime = await buildApi(deps);
  const { config } = deps;
  const address = await runtime.app.listen({ port: config.port, host: config.host });
  let metricsServer: HttpApp | undefined;
  let metricsUrl = `${address}/metrics`;
  if (config.metricsPort !== undefined) {
    metricsServer = await createHttpApp({ logger: deps.logger, bodyLimitBytes: 1024, publicUrl: '', title: 'metrics' });
    registerMetricsRoute(metricsServer, runtime.metrics);
    metricsUrl = `${await metricsServer.listen({ port: config.metricsPort, host: config.host })}/metrics`;
  }
  return {
    ...runtime,
    url: address,
    metricsUrl,
    async close() {
      runtime.readiness.shuttingDown = true;
      await runtime.app.close();
      if (!(await drainHandlers(runtime.app, config.shutdownTimeoutMs))) deps.logger.warn('shutdown: handlers still running after the drain timeout');
      await metricsServer?.close();
      await runtime.services.close();
    },
  };
}
