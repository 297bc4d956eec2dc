import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, type Config, type EnvSource } from '../platform/config.js';
import { createDb, type DbHandle } from '../platform/db.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { runMigrations } from '../platform/migrations.js';
import { startApi } from './api.js';
import { startWorker } from './worker.js';
import { ensureSandboxDatabase, startSandboxProcessorRole } from './sandbox-processor.js';
import { startStripeLocalRole } from './stripe-local.js';
import { DEV_APP_PASSWORD, DEV_APP_ROLE, EMBEDDED_DATABASE, ensureAppLoginRole, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';
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

/** Which processor `nimbuspay start` runs beside the platform. */
export type StartProcessor = 'sandbox' | 'stripe-local';

export const START_USAGE = 'nimbuspay start [--processor=sandbox|stripe-local]';

export function parseStartArgs(args: readonly string[]): { processor: StartProcessor } {
  let processor: StartProcessor = 'sandbox';
  const rest = [...args];
  for (let arg = rest.shift(); arg !== undefined; arg = rest.shift()) {
    const value = arg.startsWith('--processor=') ? arg.slice('--processor='.length) : arg === '--processor' ? rest.shift() : undefined;
    if (value === undefined) throw new ConfigError([`unknown argument "${arg}" (usage: ${START_USAGE})`]);
    if (value !== 'sandbox' && value !== 'stripe-local') throw new ConfigError([`--processor must be sandbox or stripe-local (got "${value}")`]);
    processor = value;
  }
  return { processor };
}

/**
 * `--processor=stripe-local`: the Stripe adapter, through the official SDK, against the local Stripe-compatible
 * server started in this process. Development only; the key and webhook secret are made up for this run.
 */
function withStripeLocal(env: EnvSource): EnvSource {
  if ((env.NIMBUSPAY_ENV ?? 'development') !== 'development') {
    throw new ConfigError(['--processor=stripe-local is for development only (NIMBUSPAY_ENV=development)']);
  }
  const port = env.SANDBOX_PROCESSOR_PORT || '3100';
  return {
    ...env,
    PROCESSOR: 'stripe',
    STRIPE_SECRET_KEY: `sk_test_local_${randomBytes(12).toString('hex')}`,
    STRIPE_WEBHOOK_SECRETS: `whsec_${randomBytes(24).toString('base64url')}`,
    STRIPE_API_BASE: `http://127.0.0.1:${port}`,
    // The local server's search is consistent at once (unless its search_lag_ms switch says otherwise).
    STRIPE_SEARCH_CONSISTENCY_MS: env.STRIPE_SEARCH_CONSISTENCY_MS || '5000',
  };
}

/** `nimbuspay start`: the whole platform in one process, on an embedded PostgreSQL unless DATABASE_URL is set. */
export async function startAll(env: EnvSource, args: readonly string[] = []): Promise<void> {
  const { processor } = parseStartArgs(args);
  const base = processor === 'stripe-local' ? withStripeLocal(env) : env;
  const { env: withAdmin, generated: generatedAdminSecret } = withGeneratedAdminSecret(await withDevelopmentSecrets(base));
  const config = loadConfig(withAdmin);
  const logger = createLogger({ level: config.logLevel, name: 'all' });
  const closers: Closer[] = [];
  const shutdown = installShutdown(closers, config, logger);
  try {
    await startRoles(config, logger, closers, generatedAdminSecret, processor === 'stripe-local', env);
  } catch (err) {
    // A signal during start-up closes what is running; what was still starting then fails, expectedly.
    if (shutdown.isStopping()) return;
    throw err;
  }
}

async function startRoles(config: Config, logger: Logger, closers: Closer[], generatedAdminSecret: string | undefined, stripeLocal: boolean, profileEnv: EnvSource): Promise<void> {
  let embedded: EmbeddedDatabase | undefined;
  let appUrl = config.databaseUrl;
  let ownerUrl = config.migrationDatabaseUrl;
  if (!appUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, database: EMBEDDED_DATABASE, logger });
    appUrl = embedded.appUrl;
    ownerUrl = embedded.ownerUrl;
  }
  const stopEmbedded: Closer = { name: 'postgres', close: async () => embedded?.stop() };
  closers.push(stopEmbedded);
  if (!ownerUrl) throw new ConfigError(['MIGRATION_DATABASE_URL is unset (the config defaults it to DATABASE_URL)']);
  await runMigrations({ connectionString: ownerUrl, logger });
  if (embedded) await ensureAppLoginRole(embedded.ownerUrl, DEV_APP_ROLE, DEV_APP_PASSWORD);

  const database: DbHandle = createDb({ connectionString: appUrl, max: config.dbPoolMax, applicationName: 'nimbuspay' });
  closers.unshift({ name: 'database', close: () => database.close() });
  // Unless told otherwise, the sandbox (or the local Stripe server) keeps its state in a database of its own on the
  // embedded cluster, in a schema of its own.
  const sandboxDatabaseUrl = config.sandboxDatabaseUrl ?? (embedded ? await ensureSandboxDatabase(embedded.ownerUrl) : undefined);
  let processorLine: string;
  if (stripeLocal) {
    if (!sandboxDatabaseUrl) throw new ConfigError(['SANDBOX_DATABASE_URL is required for the local Stripe server when DATABASE_URL is set']);
    const [webhookSecret] = config.stripeWebhookSecrets;
    if (webhookSecret === undefined) throw new ConfigError(['STRIPE_WEBHOOK_SECRETS is required for the local Stripe server']);
    const stripe = await startStripeLocalRole({
      host: config.host,
      port: config.sandboxProcessorPort,
      databaseUrl: sandboxDatabaseUrl,
      webhookUrl: `${config.publicUrl}/v1/processor_notifications/stripe`,
      webhookSecret,
      settlementDelayMs: config.sandboxSettlementDelayMs,
      logger,
    });
    closers.unshift({ name: 'stripe-local', close: () => stripe.close() });
    processorLine = `stripe, through the SDK, on the local Stripe-compatible server ${stripe.url} (control: ${stripe.url}/_control)`;
  } else if (config.processor === 'sandbox') {
    const sandbox = await startSandboxProcessorRole(config, logger, sandboxDatabaseUrl ? { databaseUrl: sandboxDatabaseUrl } : {});
    closers.unshift({ name: 'sandbox-processor', close: () => sandbox.close() });
    processorLine = `sandbox ${sandbox.url}`;
  } else {
    processorLine = `stripe (${config.stripeApiBase ?? 'api.stripe.com'})`;
  }
  const worker = await startWorker({ config, logger, database, healthServer: false });
  closers.unshift({ name: 'worker', close: () => worker.close() });
  const api = await startApi({ config, logger, database });
  closers.unshift({ name: 'api', close: () => api.close() });

  const report = await runDevelopmentBootstrap({ config, logger, db: database.db, services: api.services, generatedAdminSecret, profileEnv });
  process.stdout.write(banner(config, { apiUrl: api.url, metricsUrl: api.metricsUrl, processorLine, embedded: !!embedded, report }));
}

function banner(config: Config, info: { apiUrl: string; metricsUrl: string; processorLine: string; embedded: boolean; report: BootstrapReport }): string {
  const lines = [
    '',
    '  NimbusPay is running',
    `  environment         ${config.env}`,
    `  API                 ${config.publicUrl}   (listening on ${info.apiUrl})`,
    `  API docs            ${config.publicUrl}/docs   (OpenAPI: ${config.publicUrl}/openapi.json)`,
    `  support console     ${config.publicUrl}/console/`,
    `  health / readiness  ${config.publicUrl}/healthz   ${config.publicUrl}/readyz`,
    `  metrics             ${info.metricsUrl}`,
    `  processor           ${info.processorLine}`,
    `  database            ${info.embedded ? `embedded PostgreSQL on port ${config.embeddedPgPort} (data in ${config.dataDir}/pg)` : 'DATABASE_URL'}`,
    ...info.report.lines,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
