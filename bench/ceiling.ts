// The pgbench ceiling (bench/ceiling.sql, or bench/ceiling-functions.sql: the same payment through the API's two
// functions): finding pgbench, running the script as the application role, and reading its figures (payments/s from
// pgbench's own tps, latency percentiles from its per-transaction log).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { percentile, root } from './harness.js';

export type CeilingScript = 'ceiling.sql' | 'ceiling-functions.sql';

export interface CeilingRun {
  script: CeilingScript;
  clients: number;
  paymentsPerSecond: number;
  /** whole scripts (both transactions) pgbench completed */
  payments: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
}

const PGBENCH_HELP = 'pgbench ships with the PostgreSQL client: `apt-get install postgresql-client` (Debian/Ubuntu), ' +
  '`brew install libpq` (macOS), or set BENCH_PGBENCH to its path.';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function inPostgresLibDirs(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = spawnSync('ls', [base], { encoding: 'utf8' }).stdout.split('\n').filter((v) => /^\d+$/.test(v));
  // the newest client first: pipelines need pgbench 14 or later
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const candidate = path.join(base, v, 'bin', 'pgbench');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function majorVersion(pgbench: string): number {
  const out = spawnSync(pgbench, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return Number(/(\d+)(?:\.\d+)?/.exec(out)?.[1] ?? 0);
}

/**
 * pgbench from BENCH_PGBENCH, PATH or /usr/lib/postgresql/<version>/bin; installed with apt when running as root
 * on Debian or Ubuntu; otherwise the bench says how to get it and exits 2.
 */
export function findPgbench(): string {
  const found = process.env.BENCH_PGBENCH || onPath('pgbench') || inPostgresLibDirs();
  if (found) {
    if (majorVersion(found) < 14) {
      console.error(`${found} is older than 14 and has no pipeline mode. ${PGBENCH_HELP}`);
      process.exit(2);
    }
    return found;
  }
  const apt = onPath('apt-get');
  if (apt && process.getuid?.() === 0) {
    console.log('pgbench not found: installing postgresql-client with apt-get');
    let r = spawnSync(apt, ['install', '-y', '--no-install-recommends', 'postgresql-client'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      spawnSync(apt, ['update'], { stdio: 'inherit' });
      r = spawnSync(apt, ['install', '-y', '--no-install-recommends', 'postgresql-client'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    const installed = onPath('pgbench') || inPostgresLibDirs();
    if (r.status === 0 && installed) return installed;
  }
  console.error(`pgbench not found. ${PGBENCH_HELP}`);
  process.exit(2);
}

/** Seven characters of [0-9a-z], different for each invocation against one database (ids are built from it). */
function runTag(): string {
  return Date.now().toString(36).slice(-7).padStart(7, '0');
}

/** Runs a ceiling script (default bench/ceiling.sql) for `durationS` seconds with `clients` connections as the application role. */
export async function runCeiling(options: {
  pgbench: string; appUrl: string; tenantId: string; clients: number; durationS: number; script?: CeilingScript;
}): Promise<CeilingRun> {
  const script = options.script ?? 'ceiling.sql';
  const u = new URL(options.appUrl);
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-ceiling-'));
  const threads = Math.min(options.clients, os.cpus().length);
  const args = [
    '-n', '-M', 'prepared', '-f', path.join(root, 'bench', script),
    '-c', String(options.clients), '-j', String(threads), '-T', String(options.durationS),
    '-D', `tenant=${options.tenantId}`, '-D', `run=${runTag()}`, '-D', 'seq=0',
    '-l', `--log-prefix=${path.join(logDir, 'ceiling')}`,
  ];
  const env = {
    PATH: process.env.PATH ?? '',
    PGHOST: u.hostname,
    PGPORT: u.port,
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: u.pathname.slice(1),
    PGAPPNAME: 'nimbuspay-bench-ceiling',
  };
  try {
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      execFile(options.pgbench, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }));
    });
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    const processed = /number of transactions actually processed: (\d+)/.exec(stdout);
    if (code !== 0 || !tps || !processed) {
      throw new Error(`pgbench failed (exit ${code}):\n${stdout}\n${stderr.split('\n').slice(-20).join('\n')}`);
    }
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    // per-transaction log: client_id transaction_no time script_no time_epoch time_us (time: latency in µs)
    const latencies: number[] = [];
    for (const file of await readdir(logDir)) {
      for (const line of (await readFile(path.join(logDir, file), 'utf8')).split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    latencies.sort((a, b) => a - b);
    return {
      script,
      clients: options.clients,
      paymentsPerSecond: Number(tps[1]),
      payments: Number(processed[1]),
      failed,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}
