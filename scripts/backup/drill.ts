/**
 * Backup drill, runnable anywhere Node runs: `npx tsx scripts/backup/drill.ts`.
 *
 * Starts a throwaway embedded PostgreSQL, migrates it, runs the platform (API, worker, sandbox processor) on it,
 * creates realistic data through the real API, exports it (scripts/backup/export.ts), restores the export into a
 * new database (scripts/backup/import.ts, which verifies counts and money totals), checks that row-level
 * security still isolates tenants for the app role, and prints a short report. Everything it started is stopped
 * whatever happens. DRILL_TENANTS and DRILL_PAYMENTS_PER_TENANT size the data (defaults 4 and 12).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../../src/platform/logger.js';
import { runMigrations } from '../../src/platform/migrations.js';
import { ensureAppLoginRole, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/main/embedded-postgres.js';
import { TEMPLATE_DATABASE, TEST_APP_PASSWORD, TEST_APP_ROLE } from '../../test/helpers/database.js';
import { freePort } from '../../test/helpers/net.js';
import { startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js';
import { createDrillData, waitForQuiet, type DrillData } from './drill-data.js';
import { exportDatabase } from './export.js';
import { importDatabase } from './import.js';
import { checkTenantIsolation } from './tenant-isolation.js';
import { withDatabase } from '../../src/platform/db.js';

const RESTORE_DATABASE = 'nimbuspay_restore';

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const tenants = Number(process.env.DRILL_TENANTS ?? 4);
  const paymentsPerTenant = Number(process.env.DRILL_PAYMENTS_PER_TENANT ?? 12);
  const logger = createLogger({ level: 'warn', name: 'backup-drill' });
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch((err: unknown) => process.stderr.write(`cleanup: ${(err as Error).message}\n`));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().then(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
  }
  const t0 = performance.now();
  try {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-backup-drill-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    // as root, initdb runs as a separate 'postgres' user that must reach the data directory
    await chmod(tmp, 0o755);
    const embedded: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'cluster'), port: await freePort(), database: 'postgres', logger, persistent: false });
    cleanups.push(() => embedded.stop());
    const serverUrl = embedded.ownerUrl;
    await adminQuery(serverUrl, `create database ${TEMPLATE_DATABASE}`);
    await runMigrations({ connectionString: withDatabase(serverUrl, TEMPLATE_DATABASE), logger });
    await ensureAppLoginRole(withDatabase(serverUrl, TEMPLATE_DATABASE), TEST_APP_ROLE, TEST_APP_PASSWORD);
    process.env.NIMBUSPAY_TEST_SERVER_URL = serverUrl;
    const tStart = performance.now();

    const platform: TestPlatform = await startTestPlatform({ worker: true, env: { LOG_LEVEL: 'warn', BANK_TRANSFER_SUBMIT_DELAY_MS: '1000' } });
    cleanups.push(() => platform.close());
    const data: DrillData = await createDrillData(platform, { tenants, paymentsPerTenant });
    cleanups.push(() => data.close());
    await waitForQuiet(platform, data);
    const tData = performance.now();

    const exportDir = path.join(tmp, 'export');
    const exported = await exportDatabase({ databaseUrl: platform.db.ownerUrl, outDir: exportDir });
    await adminQuery(serverUrl, `create database ${RESTORE_DATABASE}`);
    const restored = await importDatabase({ databaseUrl: withDatabase(serverUrl, RESTORE_DATABASE), fromDir: exportDir });
    const tRestore = performance.now();
    const rlsProblems = await checkTenantIsolation(
      withDatabase(serverUrl, RESTORE_DATABASE, { name: TEST_APP_ROLE, password: TEST_APP_PASSWORD }),
      restored.manifest,
    );
    if (rlsProblems.length > 0) throw new Error(`row-level security after restore:\n  ${rlsProblems.join('\n  ')}`);

    const m = exported.manifest;
    const out: string[] = [];
    out.push(`backup drill passed: ${m.tables.length} tables of schema(s) ${m.schemas.join(', ')}, migration ${m.schema_migration_version}`);
    const interesting = m.tables.filter((t) => t.rows > 0).map((t) => `${t.name} ${t.rows}`);
    out.push(`  rows: ${m.tables.reduce((n, t) => n + t.rows, 0)} (${interesting.join(', ')})`);
    for (const [currency, p] of Object.entries(m.figures.payments)) {
      out.push(`  payments ${currency}: ${p.count}, amount ${p.amount}, captured ${p.amount_captured}, refunded ${p.amount_refunded}, reversed ${p.amount_reversed}`);
    }
    for (const [currency, r] of Object.entries(m.figures.refunds)) out.push(`  refunds ${currency}: ${r.count}, amount ${r.amount}, succeeded ${r.amount_succeeded}`);
    const seeded = m.tables.reduce((n, t) => n + t.rows, 0) - restored.loadedRows;
    out.push(`  restored ${restored.loadedRows} rows (the ${seeded} the migrations write were compared, not loaded); counts and money totals equal the manifest; row-level security isolates all ${Object.keys(m.figures.tenant_payments).length} tenants`);
    out.push(`  encrypted columns carried as ciphertext: ${m.encrypted_columns.join(', ')}`);
    out.push(`  durations: cluster + migrations ${seconds(tStart - t0)}, data through the API ${seconds(tData - tStart)}, export ${seconds(exported.durationMs)}, import + verify ${seconds(restored.durationMs)}, total ${seconds(tRestore - t0)}`);
    out.push(`  a real restore needs ${m.key_required}`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`backup drill FAILED: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
