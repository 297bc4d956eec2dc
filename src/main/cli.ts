import { ConfigError, loadConfig, loadMigrationConfig, type EnvSource } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { withDevelopmentSecrets } from './dev-secrets.js';
import { runAdminCommand, ADMIN_USAGE } from './admin-cli.js';
import { runStaffCommand, STAFF_USAGE } from './staff-cli.js';
import { PROFILE_USAGE, runProfileCommand } from '../cli/commands/login.js';
import { INTEGRATOR_GROUPS, INTEGRATOR_USAGE, packageVersion, runIntegratorCli } from '../cli/integrator-cli.js';

const USAGE = `Usage: nimbuspay <command>

Commands:
  start               API + worker + sandbox processor in one process (embedded PostgreSQL unless DATABASE_URL is set);
                      --processor=stripe-local runs the Stripe adapter against a local Stripe-compatible server
  api                 the API role alone (needs DATABASE_URL)
  worker              the worker role alone (needs DATABASE_URL)
  sandbox-processor   the sandbox processor role alone (needs SANDBOX_DATABASE_URL)
  migrate             apply database migrations (MIGRATION_DATABASE_URL or DATABASE_URL) and exit
  --version           print the version
${INTEGRATOR_USAGE}${PROFILE_USAGE}${ADMIN_USAGE}${STAFF_USAGE}`;

async function roleConfig(env: EnvSource) {
  return loadConfig(await withDevelopmentSecrets(env));
}

/** A single role's config, with the database it needs. */
async function databaseRoleConfig(env: EnvSource) {
  const config = await roleConfig(env);
  const { databaseUrl } = config;
  if (!databaseUrl) {
    throw new ConfigError(['DATABASE_URL is required for a single role (use `nimbuspay start` for the embedded database)']);
  }
  return { config, databaseUrl };
}

/**
 * The server roles load the whole platform (Fastify, every module, the database driver): imported only when one of
 * them runs, so the integrator commands (`env`, `payments`, `listen`…) start in a fraction of the time.
 */
const serverParts = async () => {
  const [{ createDb }, { runMigrations }, { installShutdown, startAll }, { startApi }, { startWorker }, { startSandboxProcessorRole }] = await Promise.all([
    import('../platform/db.js'),
    import('../platform/migrations.js'),
    import('./start.js'),
    import('./api.js'),
    import('./worker.js'),
    import('./sandbox-processor.js'),
  ]);
  return { createDb, runMigrations, installShutdown, startAll, startApi, startWorker, startSandboxProcessorRole };
};

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const env = process.env;
  switch (command) {
    case 'start':
      return (await serverParts()).startAll(env, rest);
    case 'api': {
      const { createDb, startApi, installShutdown } = await serverParts();
      const { config, databaseUrl } = await databaseRoleConfig(env);
      const logger = createLogger({ level: config.logLevel, name: 'api' });
      const database = createDb({ connectionString: databaseUrl, max: config.dbPoolMax, applicationName: 'nimbuspay-api' });
      const api = await startApi({ config, logger, database });
      installShutdown([{ name: 'api', close: () => api.close() }, { name: 'database', close: () => database.close() }], config, logger);
      logger.info({ url: api.url, metrics: api.metricsUrl }, 'api listening');
      return;
    }
    case 'worker': {
      const { createDb, startWorker, installShutdown } = await serverParts();
      const { config, databaseUrl } = await databaseRoleConfig(env);
      const logger = createLogger({ level: config.logLevel, name: 'worker' });
      const database = createDb({ connectionString: databaseUrl, max: config.dbPoolMax, applicationName: 'nimbuspay-worker' });
      const worker = await startWorker({ config, logger, database, healthServer: true });
      installShutdown([{ name: 'worker', close: () => worker.close() }, { name: 'database', close: () => database.close() }], config, logger);
      return;
    }
    case 'sandbox-processor': {
      const { startSandboxProcessorRole, installShutdown } = await serverParts();
      const config = await roleConfig(env);
      const logger = createLogger({ level: config.logLevel, name: 'sandbox-processor' });
      const sandbox = await startSandboxProcessorRole(config, logger);
      installShutdown([{ name: 'sandbox-processor', close: () => sandbox.close() }], config, logger);
      logger.info({ url: sandbox.url }, 'sandbox processor listening');
      return;
    }
    case 'migrate': {
      const { runMigrations } = await serverParts();
      const config = loadMigrationConfig(env);
      const logger = createLogger({ level: config.logLevel, name: 'migrate' });
      const { applied } = await runMigrations({ connectionString: config.migrationDatabaseUrl, logger });
      logger.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
      return;
    }
    case 'staff':
      return runStaffCommand(rest, env);
    case 'login':
    case 'logout':
    case 'env':
    case 'profiles':
      return runProfileCommand(command, rest, { env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`nimbuspay ${packageVersion()}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      if (INTEGRATOR_GROUPS.includes(command)) return runIntegratorCommand(argv, env);
      return runAdminCommand(command, rest, env);
  }
}

/** Integrator commands stop cleanly on Ctrl-C (listen, logs tail --follow) and exit with their own code. */
async function runIntegratorCommand(argv: string[], env: EnvSource): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await runIntegratorCli(argv, {
    env,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    signal: stop.signal,
  });
  // Explicit exit with the command's code, as for the admin commands, after flushing: a long poll still open after
  // Ctrl-C must not keep the process alive.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  process.exit(code);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  process.stderr.write(`nimbuspay: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
