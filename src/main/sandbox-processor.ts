import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { ConfigError, type Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { withDatabase } from '../platform/db.js';
import { buildSandboxProcessor } from '../sandbox-processor/index.js';

export interface SandboxProcessorRoleOverrides {
  /** Wins over `config.sandboxDatabaseUrl` (`npm start` passes its embedded cluster's sandbox database). */
  databaseUrl?: string;
}

/**
 * Starts the sandbox processor role (development and staging only; configuration refuses it in production). It is
 * a separate HTTP service even when run in-process by `npm start`: NimbusPay reaches it only over the wire, and it
 * keeps its state in a database schema of its own.
 */
export async function startSandboxProcessorRole(
  config: Config,
  logger: Logger,
  overrides: SandboxProcessorRoleOverrides = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const databaseUrl = overrides.databaseUrl ?? config.sandboxDatabaseUrl;
  if (!databaseUrl) {
    throw new ConfigError([
      'SANDBOX_DATABASE_URL is required for the sandbox processor: a PostgreSQL URL where it keeps its state (schema sandbox_processor). Only `nimbuspay start` on its embedded PostgreSQL (no DATABASE_URL) provides one itself.',
    ]);
  }
  const app = await buildSandboxProcessor({
    logger: logger.child({ role: 'sandbox-processor' }),
    databaseUrl,
    latencyMs: config.sandboxLatencyMs,
    errorRate: config.sandboxErrorRate,
    lostResponseDelayMs: config.sandboxLostResponseDelayMs,
    settlementDelayMs: config.sandboxSettlementDelayMs,
    lateReturnDelayMs: config.sandboxLateReturnDelayMs,
    ...(config.processorNotificationSecret
      ? { notificationUrl: config.sandboxNotificationUrl, notificationSecret: config.processorNotificationSecret }
      : {}),
  });
  try {
    await app.listen({ host: config.host, port: config.sandboxProcessorPort });
  } catch (err) {
    await app.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}

/**
 * Creates `database` next to the one `ownerUrl` points at, unless it exists, and returns its URL with the same
 * credentials. `npm start` keeps the sandbox's state apart from NimbusPay's this way, on the same embedded cluster.
 */
export async function ensureSandboxDatabase(ownerUrl: string, database = 'nimbuspay_sandbox'): Promise<string> {
  const admin = new pg.Client({ connectionString: ownerUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      try {
        await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
      } catch (err) {
        // Another process created it between our check and our CREATE: that is what we wanted.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await admin.end();
  }
  return withDatabase(ownerUrl, database);
}
