/**
 * `npm test`: starts a real PostgreSQL (embedded, or TEST_DATABASE_URL's server), migrates a template database
 * once, then runs every *.test.ts with Node's test runner. Each test file clones the template into a database of
 * its own (test/helpers/database.ts), so files run in parallel and never see each other's rows.
 *
 * A red run must fail fast, never hang: each file gets TEST_FILE_TIMEOUT_MINUTES (node:test's --test-timeout,
 * which in Node 20 bounds a file's whole subprocess, lingering handles included), and the whole run
 * TEST_DEADLINE_MINUTES, after which the runner names the files and tests still running, kills the test runner's
 * process group (every test file and whatever they spawned) and exits non-zero.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
import { stillRunning, type ProgressLine } from './helpers/test-progress.js';

const root = path.resolve(import.meta.dirname, '..');
/** Exit status when the overall deadline passed (as timeout(1) does). */
const DEADLINE_EXIT = 124;
/** How long the test processes get to stop after SIGTERM before the whole group is SIGKILLed. */
const TERM_GRACE_MS = 15_000;

function minutes(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of minutes (got "${raw}")`);
  return value;
}

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
  const startedAt = Date.now();
  const logger = createLogger({ level: process.env.TEST_HARNESS_LOG_LEVEL ?? 'warn', name: 'test-harness' });
  const deadlineMs = minutes('TEST_DEADLINE_MINUTES', 40) * 60_000;
  const fileTimeoutMs = minutes('TEST_FILE_TIMEOUT_MINUTES', 15) * 60_000;
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
  const progressDir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-test-progress-'));
  const stop = async () => {
    await embedded?.stop().catch(() => {});
    for (const dir of [tmpDir, progressDir]) if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  // Ctrl-C reaches only this process group: pass it on to the runner's, then clean up.
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      const exited = runner && runner.exitCode === null && runner.signalCode === null
        ? new Promise<number>((resolve) => runner!.once('exit', () => resolve(0)))
        : Promise.resolve(0);
      void (runner ? stopGroup(runner, exited) : Promise.resolve()).then(stop).then(() => process.exit(status));
    });
  }

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
    const progressFile = path.join(progressDir, 'progress.jsonl');
    const child = spawn(
      process.execPath,
      [
        '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${Math.round(fileTimeoutMs)}`,
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        '--test-reporter=./test/helpers/progress-reporter.mjs', `--test-reporter-destination=${progressFile}`,
        ...files,
      ],
      // Its own process group: at the deadline (or Ctrl-C) one signal reaches every test file and what it spawned.
      { cwd: root, stdio: 'inherit', detached: true, env: { ...process.env, NIMBUSPAY_TEST_SERVER_URL: serverUrl } },
    );
    runner = child;
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    // A test that leaves a process behind is reported after the run (reapLeftovers); the run's status stays the runner's.
    let deadlineTimer: NodeJS.Timeout | undefined;
    const deadline = new Promise<number>((resolve) => {
      // the harness's own start (PostgreSQL, migrations) counts too
      deadlineTimer = setTimeout(() => resolve(DEADLINE_EXIT), Math.max(0, startedAt + deadlineMs - Date.now()));
    });
    const status = await Promise.race([exited, deadline]);
    clearTimeout(deadlineTimer);
    if (status === DEADLINE_EXIT && child.exitCode === null && child.signalCode === null) {
      process.stderr.write(deadlineReport(progressFile, deadlineMs));
      await stopGroup(child, exited);
      return DEADLINE_EXIT;
    }
    reapLeftovers(child.pid!);
    return status;
  } finally {
    await stop();
  }
}

let runner: ChildProcess | undefined;

/** SIGTERM to the runner's process group, SIGKILL to whatever is left after the grace period. */
async function stopGroup(child: ChildProcess, exited: Promise<number>): Promise<void> {
  signalGroup(child.pid!, 'SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, TERM_GRACE_MS).unref())]);
  signalGroup(child.pid!, 'SIGKILL');
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch { /* the group is gone */ }
}

/** Processes a test spawned and never stopped outlive the run otherwise: name them (a bug in that test) and kill them. */
function reapLeftovers(pgid: number): void {
  let left: string[] = [];
  try {
    // zombies (exited, not yet reaped by their parent) are not running
    left = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' }).split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, group, stat]) => Number(group) === pgid && Number(pid) !== process.pid && !stat?.startsWith('Z'))
      .map(([pid, , , ...args]) => `${pid} ${args.join(' ')}`);
  } catch {
    return;
  }
  if (left.length === 0) return;
  process.stderr.write(`\nnpm test: ${left.length} process(es) started by tests were still running after the run; killing them:\n${left.map((l) => `  ${l}`).join('\n')}\n`);
  signalGroup(pgid, 'SIGKILL');
}

function deadlineReport(progressFile: string, deadlineMs: number): string {
  let lines: ProgressLine[] = [];
  try {
    lines = readFileSync(progressFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ProgressLine);
  } catch { /* nothing reported yet */ }
  const now = Date.now();
  const ago = (since: number) => `${Math.round((now - since) / 1000)} s`;
  const running = stillRunning(lines);
  const out = [`\nnpm test: the overall deadline (${deadlineMs / 60_000} min, TEST_DEADLINE_MINUTES) passed; still running:`];
  if (running.length === 0) out.push('  (no test file reported as running: the runner itself hung)');
  for (const file of running) {
    out.push(`  ${path.relative(root, file.file)} (for ${ago(file.since)})`);
    if (file.tests.length === 0) out.push('    every test of it ended; its process did not exit (an open handle: a server, client, timer or child process)');
    for (const t of file.tests) out.push(`    ${'  '.repeat(t.nesting)}${t.name} (for ${ago(t.since)})`);
  }
  out.push('Stopping every test process.\n');
  return out.join('\n');
}

// Exit explicitly with the run's status: a handle left open (a pool, a timer) must neither keep the harness alive
// nor decide its code. (embedded-postgres's exit hook, which would exit 0 and turn a red run green, is removed when
// the package is loaded: see src/main/embedded-postgres.ts.)
process.exit(await main());
