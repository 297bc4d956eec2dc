import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type Config, type EnvSource } from '../platform/config.js';
import { createDb, type DbHandle } from '../platform/db.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { runMigrations } from '../platform/migrations.js';
import { startApi } from './api.js';
import { startWorker } from './worker.js';
import { ensureSandboxDatabase, startSandboxProcessorRole } from './sandbox-processor.js';
import { DEV_APP_ROLE, ensureAppLoginRole, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';
import { withDevelopmentSecrets } from './dev-secrets.js';
import { runDevelopmentBootstrap, withGeneratedAdminSecret, type BootstrapReport } from './bootstrap.js';

type Closer = { name: string; close(): Promise<void> };

/**
 * Closes in order, each bounded, so a stuck piece cannot keep PostgreSQL from stopping cleanly.
 */
async function closeAll(closers: Closer[], timeoutMs: number, logger: Logger): Promise<void> {
  for (const c of closers) {
    const result = await Promise.race([
      c.close().then(() => 'ok' as const, (err: unknown) => { logger.error({ err, component: c.name }, 'close failed'); return 'failed' as const; }),
      sleep(timeoutMs).then(() => 'timeout' as const),
    ]);
    if (result === 'timeout') logger.warn({ component: c.name }, 'close timed out');
  }
}

export function installShutdown(closers: Closer[], config: Config, logger: Logger): { isStopping(): boolean } {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void closeAll(closers, config.shutdownTimeoutMs, logger).finally(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return { isStopping: () => stopping };
}

/** `nimbuspay start`: the whole platform in one process, on an embedded PostgreSQL unless DATABASE_URL is set. */
export async function startAll(env: EnvSource): Promise<void> {
  const { env: withAdmin, generated: generatedAdminSecret } = withGeneratedAdminSecret(await withDevelopmentSecrets(env));
  const config = loadConfig(withAdmin);
  const logger = createLogger({ level: config.logLevel, name: 'all' });
  const closers: Closer[] = [];
  const shutdown = installShutdown(closers, config, logger);
  try {
    await startRoles(config, logger, closers, generatedAdminSecret);
  } catch (err) {
    // A signal during start-up closes what is running; what was still starting then fails, expectedly.
    if (shutdown.isStopping()) return;
    throw err;
  }
}

async function startRoles(config: Config, logger: Logger, closers: Closer[], generatedAdminSecret: string | undefined): Promise<void> {
  let embedded: EmbeddedDatabase | undefined;
  let appUrl = config.databaseUrl;
  let ownerUrl = config.migrationDatabaseUrl;
  if (!appUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, database: 'nimbuspay', logger });
    appUrl = embedded.appUrl;
    ownerUrl = embedded.ownerUrl;
  }
  const stopEmbedded: Closer = { name: 'postgres', close: async () => embedded?.stop() };
  closers.push(stopEmbedded);
  await runMigrations({ connectionString: ownerUrl!, logger });
  if (embedded) await ensureAppLoginRole(embedded.ownerUrl, DEV_APP_ROLE, 'nimbuspay-dev-app');

  const database: DbHandle = createDb({ connectionString: appUrl, max: config.dbPoolMax, applicationName: 'nimbuspay' });
  closers.unshift({ name: 'database', close: () => database.close() });
  // Unless told otherwise, the sandbox keeps its state in a database of its own on the embedded cluster.
  const sandboxDatabaseUrl = config.sandboxDatabaseUrl ?? (embedded ? await ensureSandboxDatabase(embedded.ownerUrl) : undefined);
  const sandbox = await startSandboxProcessorRole(config, logger, sandboxDatabaseUrl ? { databaseUrl: sandboxDatabaseUrl } : {});
  closers.unshift({ name: 'sandbox-processor', close: () => sandbox.close() });
  const worker = await startWorker({ config, logger, database, healthServer: false });
  closers.unshift({ name: 'worker', close: () => worker.close() });
  const api = await startApi({ config, logger, database });
  closers.unshift({ name: 'api', close: () => api.close() });

  const report = await runDevelopmentBootstrap({ config, logger, db: database.db, services: api.services, generatedAdminSecret });
  process.stdout.write(banner(config, { apiUrl: api.url, metricsUrl: api.metricsUrl, sandboxUrl: sandbox.url, embedded: !!embedded, report }));
}

function banner(config: Config, info: { apiUrl: string; metricsUrl: string; sandboxUrl: string; embedded: boolean; report: BootstrapReport }): string {
  const lines = [
    '',
    '  NimbusPay is running',
    `  environment         ${config.env}`,
    `  API                 ${config.publicUrl}   (listening on ${info.apiUrl})`,
    `  API docs            ${config.publicUrl}/docs   (OpenAPI: ${config.publicUrl}/openapi.json)`,
    `  health / readiness  ${config.publicUrl}/healthz   ${config.publicUrl}/readyz`,
    `  metrics             ${info.metricsUrl}`,
    `  sandbox processor   ${info.sandboxUrl}`,
    `  database            ${info.embedded ? `embedded PostgreSQL on port ${config.embeddedPgPort} (data in ${config.dataDir}/pg)` : 'DATABASE_URL'}`,
    ...info.report.lines,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
