/**
 * `npm test`: starts a real PostgreSQL (embedded, or TEST_DATABASE_URL's server), migrates a template database
 * once, then runs every *.test.ts with Node's test runner. Each test file clones the template into a database of
 * its own (test/helpers/database.ts), so files run in parallel and never see each other's rows.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../src/platform/logger.js';
import { runMigrations } from '../src/platform/migrations.js';
import { ensureAppLoginRole, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/main/embedded-postgres.js';
import { freePort } from './helpers/net.js';
import { TEST_APP_PASSWORD, TEST_APP_ROLE, TEMPLATE_DATABASE } from './helpers/database.js';
import { withDatabase } from '../src/platform/db.js';

const root = path.resolve(import.meta.dirname, '..');

async function findTestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'cdk.out') out.push(...(await findTestFiles(full)));
    } else if (entry.name.endsWith('.test.ts')) out.push(path.relative(root, full));
  }
  return out.sort();
}


async function main(): Promise<number> {
  const logger = createLogger({ level: process.env.TEST_HARNESS_LOG_LEVEL ?? 'warn', name: 'test-harness' });
  const filters = process.argv.slice(2);
  let files = (await Promise.all(['src', 'test', 'infra'].map((dir) => findTestFiles(path.join(root, dir))))).flat();
  if (filters.length > 0) files = files.filter((f) => filters.some((flt) => f.includes(flt)));
  if (files.length === 0) {
    process.stderr.write('no test files matched\n');
    return 1;
  }

  let embedded: EmbeddedDatabase | undefined;
  let tmpDir: string | undefined;
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    tmpDir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-test-'));
    // as root, initdb runs as a separate 'postgres' user that must be able to reach the data directory
    await chmod(tmpDir, 0o755);
    embedded = await startEmbeddedPostgres({ dataDir: tmpDir, port: await freePort(), database: 'postgres', logger, persistent: false });
    serverUrl = embedded.ownerUrl;
  }
  const stop = async () => {
    await embedded?.stop().catch(() => {});
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));

  try {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${TEMPLATE_DATABASE}`);
    await admin.query(`create database ${TEMPLATE_DATABASE}`);
    await admin.end();
    const templateUrl = withDatabase(serverUrl, TEMPLATE_DATABASE);
    await runMigrations({ connectionString: templateUrl, logger });
    await ensureAppLoginRole(templateUrl, TEST_APP_ROLE, TEST_APP_PASSWORD);

    const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(2, os.cpus().length));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
      { cwd: root, stdio: 'inherit', env: { ...process.env, NIMBUSPAY_TEST_SERVER_URL: serverUrl } },
    );
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await stop();
  }
}

// Exit explicitly: embedded-postgres installs async-exit-hook, whose 'beforeExit' handler would exit with 0 and
// turn a red test run green.
process.exit(await main());
