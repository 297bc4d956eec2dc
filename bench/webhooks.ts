/**
 * `npm run bench:webhooks`: webhook delivery throughput and commit-to-delivery lag on this machine.
 * Starts an embedded PostgreSQL, the API and one worker in this process, and a loopback receiver, then
 *   1. throughput: queues BENCH_EVENTS events (worker stopped), starts the worker, times until all are received;
 *   2. lag: with the worker running, records BENCH_RATE events/s for BENCH_SECONDS and measures, per delivery,
 *      receipt time minus the event's created_at (set in the recording transaction, just before its commit).
 * Events are recorded with recordEventAndFanOut, the function the API's services use, so the fan-out and its NOTIFY are
 * the real ones. The receiver answers 204 at once and verifies the Standard Webhooks signature of every
 * BENCH_VERIFY_EVERY-th request (10) with the official library. Besides the wall-clock rates (which depend on
 * what else the machine runs), the drain prints figures that do not: database transactions committed and Node CPU
 * time per delivery (the whole process: worker, receiver, API idle).
 * Knobs (environment): BENCH_EVENTS (10000), BENCH_TENANTS (8, one endpoint each), BENCH_RATE (500),
 * BENCH_SECONDS (10), BENCH_WORKERS (1), BENCH_VERIFY_EVERY (10), BENCH_CPU_PROFILE (a file to write a V8 CPU
 * profile of the drain to, for Chrome DevTools or speedscope). Everything stops by itself.
 */
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Webhook } from 'standardwebhooks';
import pgDriver from 'pg';
import { mkdtemp, chmod, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/platform/config.js';
import { createDb, withTenantTx } from '../src/platform/db.js';
import { createLogger } from '../src/platform/logger.js';
import { runMigrations } from '../src/platform/migrations.js';
import { ensureAppLoginRole, startEmbeddedPostgres } from '../src/main/embedded-postgres.js';
import { startApi } from '../src/main/api.js';
import { startWorker } from '../src/main/worker.js';
import { recordEventAndFanOut } from '../src/modules/webhooks/index.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const VERIFY_EVERY = Number(process.env.BENCH_VERIFY_EVERY ?? 10);
// Concurrent recording transactions of the paced run: it keeps its schedule while the database keeps up, and
// falls behind (reported as the achieved rate) instead of queueing without bound for pool connections.
const EMITTERS = 16;
const ADMIN_SECRET = 'bench-admin-secret-0123456789abcdef';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * CPU time (ms) used so far by the PostgreSQL server's processes (postmaster and its children), from /proc; what
 * the database spends per delivery does not depend on what else the machine runs. Undefined off Linux.
 */
async function postgresCpuMs(clusterDir: string): Promise<number | undefined> {
  try {
    const postmaster = Number((await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    let ticks = 0;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // fields after the parenthesised command: state ppid … utime (14th field) stime (15th)
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(entry) === postmaster || Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    }
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'bench' });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-bench-'));
  await chmod(tmp, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: tmp, port: await freePort(), database: 'bench', logger, persistent: false });
  const closers: Array<() => Promise<unknown>> = [async () => pg.stop(), async () => rm(tmp, { recursive: true, force: true })];
  try {
    await runMigrations({ connectionString: pg.ownerUrl, logger });
    await ensureAppLoginRole(pg.ownerUrl, 'nimbuspay_app_user', 'nimbuspay-dev-app');
    const port = await freePort();
    const config = loadConfig({
      NIMBUSPAY_ENV: 'development',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      NIMBUSPAY_PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: pg.appUrl,
      MIGRATION_DATABASE_URL: pg.ownerUrl,
      DB_POOL_MAX: process.env.DB_POOL_MAX ?? '20',
      NIMBUSPAY_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
      NIMBUSPAY_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
      PROCESSOR_NOTIFICATION_SECRET: 'bench-notification-secret-0123456789',
      NIMBUSPAY_DEMO_TENANT: 'false',
      WORKER_POLL_INTERVAL_MS: '250',
      ...(process.env.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT ? { WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT: process.env.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT } : {}),
    });
    const database = createDb({ connectionString: pg.appUrl, max: config.dbPoolMax, applicationName: 'bench' });
    closers.unshift(() => database.close());
    const api = await startApi({ config, logger, database });
    closers.unshift(() => api.close());

    // the loopback receiver: records when each webhook-id arrived and the event's created_at; /hooks/<i> is
    // tenant i's endpoint, whose secret verifies the signature
    const received = new Map<string, { at: number; createdAt: number }>();
    const verifiers = new Map<string, Webhook>();
    let duplicates = 0;
    let verified = 0;
    let badSignatures = 0;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = Date.now();
        const id = String(req.headers['webhook-id']);
        if (received.has(id)) duplicates++;
        const body = Buffer.concat(chunks).toString('utf8');
        if (received.size % VERIFY_EVERY === 0) {
          try {
            verifiers.get(req.url ?? '')!.verify(body, req.headers as Record<string, string>);
            verified++;
          } catch {
            badSignatures++;
          }
        }
        const createdAt = Date.parse((JSON.parse(body) as { created_at: string }).created_at);
        received.set(id, { at, createdAt });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    closers.unshift(() => new Promise((resolve) => { receiver.closeAllConnections(); receiver.close(resolve); }));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

    // tenants, clients and endpoints through the real API
    const call = async (method: string, url: string, token: string, body?: unknown) => {
      const res = await fetch(`${api.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const json = (await res.json()) as Record<string, any>;
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const token = async (id: string, secret: string) => {
      const res = await fetch(`${api.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const admin = await token('platform-admin', ADMIN_SECRET);
    const tenantIds: string[] = [];
    for (let i = 0; i < TENANTS; i++) {
      const tenant = await call('POST', '/v1/admin/tenants', admin, { name: `Bench ${i}` });
      const client = await call('POST', `/v1/admin/tenants/${tenant.id}/clients`, admin, { name: 'bench', scopes: ['webhooks:write'] });
      const endpoint = await call('POST', '/v1/webhook_endpoints', await token(client.client_id, client.client_secret), { url: `${receiverUrl}/${i}`, enabled_events: ['*'] });
      verifiers.set(`/hooks/${i}`, new Webhook(endpoint.secret as string));
      tenantIds.push(tenant.id as string);
    }

    let seq = 0;
    const emit = async (): Promise<string> => {
      const n = seq++;
      const tenantId = tenantIds[n % tenantIds.length]!;
      const id = `pay_bench${n}`;
      return withTenantTx(database.db, tenantId, (tx) =>
        recordEventAndFanOut(tx, tenantId, { type: 'payment.succeeded', objectType: 'payment', objectId: id, object: { id, object: 'payment', amount: 1000, currency: 'eur', status: 'succeeded' } }));
    };
    const waitForCount = async (n: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (received.size < n) {
        if (Date.now() > deadline) throw new Error(`only ${received.size}/${n} deliveries received within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    out(`NimbusPay webhook bench — ${os.cpus().length} CPUs, ${TENANTS} tenants × 1 endpoint, ${WORKERS} worker(s), ` +
      `${config.webhookMaxConcurrencyPerEndpoint} in flight per endpoint, pool ${config.dbPoolMax}`);

    // 1. throughput: a backlog of EVENTS, drained by the worker(s)
    const queueStart = Date.now();
    const emitters = 16;
    await Promise.all(Array.from({ length: emitters }, async () => {
      while (seq < EVENTS) await emit();
    }));
    out(`queued ${EVENTS} events in ${Date.now() - queueStart} ms (${Math.round(EVENTS / ((Date.now() - queueStart) / 1000))} events/s recorded)`);
    const commits = async (): Promise<number> => {
      const c = new pgDriver.Client({ connectionString: pg.ownerUrl });
      await c.connect();
      try {
        return Number((await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n);
      } finally {
        await c.end();
      }
    };
    const commitsBefore = await commits();
    const workers: Array<{ close(): Promise<void> }> = [];
    const profiler = process.env.BENCH_CPU_PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const pgCpuBefore = await postgresCpuMs(path.join(tmp, 'pg'));
    let queries = 0;
    const query = pgDriver.Client.prototype.query;
    // every statement this process sends (worker, API, the bench itself), counted where the driver sends it
    pgDriver.Client.prototype.query = function (this: pgDriver.Client, ...args: unknown[]) {
      queries++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    const cpuBefore = process.cpuUsage();
    const drainStart = Date.now();
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker({ config, logger, database, healthServer: false }));
    closers.unshift(async () => Promise.all(workers.map((w) => w.close())));
    await waitForCount(EVENTS, 300_000);
    const drainMs = Date.now() - drainStart;
    const cpu = process.cpuUsage(cpuBefore);
    pgDriver.Client.prototype.query = query;
    const pgCpuAfter = await postgresCpuMs(path.join(tmp, 'pg'));
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(process.env.BENCH_CPU_PROFILE!, JSON.stringify(profile));
      profiler.disconnect();
    }
    // the statistics collector reports a backend's counts when its transaction ends (and at most every second)
    await new Promise((r) => setTimeout(r, 1_500));
    const drainCommits = (await commits()) - commitsBefore;
    out(`throughput: ${EVENTS} deliveries in ${drainMs} ms = ${Math.round(EVENTS / (drainMs / 1000))} deliveries/s; ` +
      `per 1,000 deliveries: ${(queries / EVENTS * 1000).toFixed(0)} statements sent, ${((drainCommits / EVENTS) * 1000).toFixed(0)} commits, ` +
      `${((cpu.user + cpu.system) / EVENTS).toFixed(0)} ms Node CPU, ` +
      `${pgCpuBefore !== undefined && pgCpuAfter !== undefined ? ((pgCpuAfter - pgCpuBefore) / EVENTS * 1000).toFixed(0) : 'n/a'} ms PostgreSQL CPU`);

    // 2. lag at a steady rate
    const steadyIds = new Set<string>();
    const total = RATE * SECONDS;
    const steadyStart = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: EMITTERS }, async () => {
      for (let i = next++; i < total; i = next++) {
        const wait = steadyStart + (i * 1000) / RATE - Date.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        steadyIds.add(await emit());
      }
    }));
    const emitSeconds = (Date.now() - steadyStart) / 1000;
    await waitForCount(EVENTS + total, 60_000);
    const lags = [...steadyIds].map((id) => { const r = received.get(id)!; return r.at - r.createdAt; }).sort((a, b) => a - b);
    out(`lag at ${RATE} events/s for ${SECONDS} s (${total} events, achieved ${Math.round(total / emitSeconds)}/s): ` +
      `p50 ${percentile(lags, 50)} ms, p95 ${percentile(lags, 95)} ms, p99 ${percentile(lags, 99)} ms, max ${lags.at(-1)} ms`);
    out(`duplicates received: ${duplicates}; signatures verified ${verified}, rejected ${badSignatures}`);
    if (badSignatures > 0) throw new Error('the receiver rejected signatures');
  } finally {
    for (const close of closers) await close().catch((err: unknown) => process.stderr.write(`close failed: ${String(err)}\n`));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
