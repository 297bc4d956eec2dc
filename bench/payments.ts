// bench:payments — the API against PostgreSQL's own ceiling for the same work, in one run, on one throwaway embedded
// PostgreSQL:
// 1. the ceiling: bench/ceiling.sql through pgbench (pipelined, prepared, one round trip per transaction, as the
//    application role) — the rows a card payment must write and nothing else — at BENCH_CEILING_CLIENTS clients;
// 2. the API (API and sandbox processor as separate processes, sandbox at zero added latency): autocannon driving
//    POST /v1/payments (4242…, automatic capture, a fresh Idempotency-Key per request) at each of BENCH_CONNECTIONS,
//    each phase for its own tenant so the money checks afterwards are exact;
// 3. with BENCH_SCALE_OUT=1 (or `npm run bench:scale-out`), the same load against 2 and 4 API processes (one
//    database, one sandbox), with the same money checks.
// Every tenant (ceiling and API) has ONE enabled webhook endpoint subscribed to payment.*, so each event fans out to
// one pending delivery in both; no worker runs. Prints figures, the API/ceiling ratio and the issue's targets; exits
// 1 if any request failed or a money check did not hold (never because of speed), 2 if pgbench cannot be found.
//
// Settings (environment):
//   BENCH_DURATION_S             seconds of load per phase (default 10)
//   BENCH_CEILING_CLIENTS        pgbench client counts (default 1,8,16)
//   BENCH_CEILING_FUNCTIONS      1: also run bench/ceiling-functions.sql (the same payment through the two functions
//                                the API calls) at those client counts: what the functions cost over plain statements
//   BENCH_CONNECTIONS            API connection counts, one process (default 1,16,64)
//   BENCH_DB_POOL_MAX            DB_POOL_MAX of each API process (default 20)
//   BENCH_WARMUP_S               seconds of load at 16 connections before an API process is measured (default 10):
//                                until V8 has optimised the hot path, a payment costs the API 2-3 times the CPU
//                                (measured: 6.5 ms after a 2 s warm-up, 2.5 ms once warm, at 1 connection)
//   BENCH_SCALE_OUT              1: also run the scale-out curve (default off)
//   BENCH_SCALE_OUT_PROCESSES    API process counts beyond one (default 2,4)
//   BENCH_SCALE_OUT_CONNECTIONS  connection counts of the curve (default 16; 64 too if time allows)
//   BENCH_ROUND_TRIP_PAYMENTS    payments sent one at a time through an API process whose database connections go
//                                through a counting relay: round trips and statements per payment (default 20; 0: off)
//   BENCH_CPU_PROF               1: API processes run with --cpu-prof; the bench prints where the profiles went
//   BENCH_PGBENCH                path of pgbench (else PATH, /usr/lib/postgresql/*/bin; apt-get as root)
//   BENCH_DATABASE_URL           an existing database (owner) instead of the embedded one
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findPgbench, runCeiling, type CeilingRun } from './ceiling.js';
import {
  createBenchTenant, createPaymentWebhookEndpoint, envInt, freePort, machineLine, platformEnv, startBenchDatabase, startRole, type Role,
} from './harness.js';
import { createCpuMeter, type CpuMeter, type CpuUse } from './cpu-meter.js';
import { checkTenantPayments, PAYMENT_BODY, runPaymentLoad, type LoadRun, type MoneyCheck } from './payment-load.js';
import { startPgWireCounter, type WireCounts } from './pg-wire-counter.js';

function envList(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return fallback;
  return v.split(',').map((s) => Number.parseInt(s.trim(), 10)).filter((n) => Number.isInteger(n) && n > 0);
}

const durationS = envInt('BENCH_DURATION_S', 10);
const ceilingClients = envList('BENCH_CEILING_CLIENTS', [1, 8, 16]);
const ceilingFunctions = process.env.BENCH_CEILING_FUNCTIONS === '1';
const connectionsList = envList('BENCH_CONNECTIONS', [1, 16, 64]);
const poolMax = envInt('BENCH_DB_POOL_MAX', 20);
const warmUpS = envInt('BENCH_WARMUP_S', 10);
const scaleOut = process.env.BENCH_SCALE_OUT === '1';
const scaleOutProcesses = scaleOut ? envList('BENCH_SCALE_OUT_PROCESSES', [2, 4]) : [];
const scaleOutConnections = envList('BENCH_SCALE_OUT_CONNECTIONS', [16]);
const cpuProf = process.env.BENCH_CPU_PROF === '1';
const roundTripPayments = envInt('BENCH_ROUND_TRIP_PAYMENTS', 20);

const pgbench = findPgbench();
console.log(`bench:payments — ${machineLine()}; ${durationS} s per phase; ceiling clients ${ceilingClients.join(', ')}; ` +
  `API connections ${connectionsList.join(', ')}${scaleOut ? `; scale-out ${scaleOutProcesses.join(', ')} processes at ${scaleOutConnections.join(', ')}` : ''}; ` +
  `DB pool ${poolMax} per API process; ${pgbench}`);

const db = await startBenchDatabase();
const sandboxPort = await freePort();
// the sandbox notifies the first API process (NIMBUSPAY_PUBLIC_URL), as with one replica
const firstApiPort = await freePort();
const profileDir = cpuProf ? await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-cpu-prof-')) : undefined;
const apis: Role[] = [];
let sandbox: Role | undefined;
let failed = false;
let meter: CpuMeter | undefined;
const cpuOf = new Map<CeilingRun | LoadRun, CpuUse>();

/** An API process; `extraEnv` set: one outside the load (not in `apis`), which the caller stops. */
async function startApi(extraEnv?: Record<string, string>): Promise<Role> {
  const port = apis.length === 0 && !extraEnv ? firstApiPort : await freePort();
  // replicas behind one address: one public URL, which is also the tokens' issuer and audience
  const env = platformEnv(db, { api: port, sandbox: sandboxPort }, { DB_POOL_MAX: String(poolMax), NIMBUSPAY_PUBLIC_URL: `http://127.0.0.1:${firstApiPort}`, ...extraEnv });
  const api = await startRole('api', env, port, '/readyz', profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  if (!extraEnv) apis.push(api);
  return api;
}

/**
 * Round trips and statements per payment, counted on the wire: an API process of its own whose connections go
 * through the counting relay, `count` payments one at a time after a few uncounted ones (key cache, pool, plans).
 */
async function countRoundTrips(count: number): Promise<{ payments: number; counts: WireCounts }> {
  const u = new URL(db.appUrl);
  const relay = await startPgWireCounter({ host: u.hostname, port: Number(u.port) });
  u.hostname = '127.0.0.1';
  u.port = String(relay.port);
  u.searchParams.set('sslmode', 'disable');
  let api: Role | undefined;
  try {
    api = await startApi({ DATABASE_URL: u.toString() });
    const { tenantId, token } = await phaseTenant();
    const keys = new Set<string>();
    const pay = async () => {
      const key = randomUUID();
      const res = await fetch(`${api!.url}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: PAYMENT_BODY,
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`round-trip count: POST /v1/payments answered ${res.status}`);
      keys.add(key);
    };
    for (let i = 0; i < 5; i++) await pay();
    relay.reset();
    for (let i = 0; i < count; i++) await pay();
    const counts = relay.counts();
    reportMoney('round-trip count', await checkTenantPayments(db.ownerUrl, tenantId, { count: keys.size, keys }), `= ${keys.size} keys answered 201`);
    return { payments: count, counts };
  } finally {
    await api?.stop();
    await relay.close();
  }
}

/** A tenant of its own for one phase, with its webhook endpoint: its payments are exactly that phase's. */
async function phaseTenant(): Promise<{ tenantId: string; token: string }> {
  const tenant = await createBenchTenant(apis[0]!.url);
  await createPaymentWebhookEndpoint(apis[0]!.url, tenant.token);
  return tenant;
}

function reportCpu(run: CeilingRun | LoadRun, payments: number): void {
  const cpu = cpuOf.get(run);
  if (!cpu || payments === 0) return;
  const per = (ms: number) => (ms / payments).toFixed(2);
  console.log(`  CPU per payment: PostgreSQL ${per(cpu.postgresMs)} ms (of which the sandbox's own backends ${per(cpu.sandboxBackendsMs)} ms), ` +
    `API ${per(cpu.apiMs)} ms, sandbox ${per(cpu.sandboxMs)} ms, load generator ${per(cpu.clientMs)} ms`);
}

function reportMoney(label: string, check: MoneyCheck, detail: string): void {
  if (check.problems.length === 0) {
    console.log(`  money ✓ ${label}: ${check.payments} payments ${detail}; all succeeded, amounts add up, 1 attempt, 2 transitions, 2 events, 2 deliveries each`);
  } else {
    failed = true;
    console.log(`  money ✗ ${label}: ${check.problems.join('; ')}`);
  }
}

async function apiPhase(label: string, urls: string[], connections: number, seconds: number): Promise<{ run: LoadRun; check: MoneyCheck }> {
  const { tenantId, token } = await phaseTenant();
  const cpuStart = await meter?.sample();
  const run = await runPaymentLoad({ label, urls, token, connections, durationS: seconds });
  if (meter && cpuStart) cpuOf.set(run, await meter.since(cpuStart));
  const check = await checkTenantPayments(db.ownerUrl, tenantId, { count: run.createdKeys.size, keys: run.createdKeys });
  console.log(`${label}: ${run.paymentsPerSecond.toFixed(0)} payments/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, ` +
    `status ${JSON.stringify(run.statusCounts)}, non-2xx ${run.non2xx}, errors ${run.errors}, timeouts ${run.timeouts}`);
  reportMoney(label, check, `= ${run.createdKeys.size} keys answered 201 (${run.replayed} of them by the replay of requests dropped at the end)`);
  reportCpu(run, run.createdKeys.size);
  if (run.non2xx > 0 || run.errors > 0 || run.timeouts > 0) failed = true;
  return { run, check };
}

const ceilingRuns: CeilingRun[] = [];
const apiRuns: LoadRun[] = [];
const curve: LoadRun[] = [];
let wire: { payments: number; counts: WireCounts } | undefined;
let ceilingEventBytes = 0;
let apiEventBytes = 0;
try {
  sandbox = await startRole('sandbox-processor', platformEnv(db, { api: firstApiPort, sandbox: sandboxPort }), sandboxPort, '/_control');
  await startApi();
  meter = await createCpuMeter(db.ownerUrl, () => ({ api: apis.map((a) => a.child.pid!), sandbox: sandbox?.child.pid }));

  // 1. the ceiling, while the API idles; as a role that row-level security binds, or the ceiling would be too high
  const role = new pg.Client({ connectionString: db.appUrl });
  await role.connect();
  const escapes = (await role.query('SELECT rolsuper OR rolbypassrls AS escapes FROM pg_roles WHERE rolname = current_user')).rows[0] as { escapes: boolean };
  await role.end();
  if (escapes.escapes) throw new Error('the application role bypasses row-level security: the ceiling would not be the same work');
  for (const script of ceilingFunctions ? (['ceiling.sql', 'ceiling-functions.sql'] as const) : (['ceiling.sql'] as const)) {
    const name = script === 'ceiling.sql' ? 'ceiling' : 'ceiling via functions';
    const tenant = await phaseTenant();
    // warm-up, as the API gets one: a fresh cluster's first seconds (cold caches, relation extension, plans) otherwise
    // land on whichever phase runs first; its payments are counted in the money check like the others
    const warmUp = await runCeiling({ pgbench, appUrl: db.appUrl, tenantId: tenant.tenantId, clients: 2, durationS: 3, script });
    let payments = warmUp.payments;
    for (const clients of ceilingClients) {
      const cpuStart = await meter?.sample();
      const r = await runCeiling({ pgbench, appUrl: db.appUrl, tenantId: tenant.tenantId, clients, durationS, script });
      if (meter && cpuStart) cpuOf.set(r, await meter.since(cpuStart));
      ceilingRuns.push(r);
      payments += r.payments;
      console.log(`${name} ${clients} clients: ${r.paymentsPerSecond.toFixed(0)} payments/s (${r.payments} payments), p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, failed ${r.failed}`);
      reportCpu(r, r.payments);
      if (r.failed > 0) failed = true;
    }
    const check = await checkTenantPayments(db.ownerUrl, tenant.tenantId, { count: payments });
    reportMoney(name, check, `= ${payments} scripts pgbench completed`);
    if (script === 'ceiling.sql') ceilingEventBytes = check.eventBytes;
  }

  // 2. the API, one process; the warm-up (JIT, pool connections, prepared plans) has a tenant of its own
  await apiPhase('API warm-up, 16 connections', [apis[0]!.url], 16, warmUpS);
  for (const connections of connectionsList) {
    const { run, check } = await apiPhase(`API 1 process, ${connections} connections`, [apis[0]!.url], connections, durationS);
    apiRuns.push(run);
    apiEventBytes = check.eventBytes;
  }

  // 3. round trips per payment, whatever the machine's load
  if (roundTripPayments > 0) {
    wire = await countRoundTrips(roundTripPayments);
    const per = (n: number) => (n / wire!.payments).toFixed(2);
    console.log(`API wire counts over ${wire.payments} payments sent one at a time: ${per(wire.counts.roundTrips)} round trips per payment, ` +
      `${per(wire.counts.executes)} extended-protocol statements, ${per(wire.counts.simpleQueries)} simple-protocol queries; ` +
      `cross-tenant background work (request log flushes, jobs) ${per(wire.counts.backgroundRoundTrips)} round trips per payment on top; ` +
      `${wire.counts.connectionsOpened} connection(s) opened by the pool meanwhile (their start-up is counted in neither)`);
  }

  // 4. scale-out: more API processes against the same database and sandbox
  if (scaleOutProcesses.length > 0) {
    for (const connections of scaleOutConnections) {
      const single = apiRuns.find((r) => r.connections === connections);
      curve.push(single ?? (await apiPhase(`API 1 process, ${connections} connections`, [apis[0]!.url], connections, durationS)).run);
    }
    for (const processes of scaleOutProcesses) {
      const cold = apis.length < processes;
      while (apis.length < processes) await startApi();
      const urls = apis.slice(0, processes).map((a) => a.url);
      // the new processes warm up (JIT, pool connections, prepared plans) as the first one did
      if (cold) await apiPhase(`API warm-up, ${processes} processes, 16 connections`, urls, 16, warmUpS);
      for (const connections of scaleOutConnections) {
        curve.push((await apiPhase(`API ${processes} processes, ${connections} connections`, urls, connections, durationS)).run);
      }
    }
  }
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  for (const api of apis) await api.stop();
  await sandbox?.stop();
  await db.stop();
}

// ---- summary --------------------------------------------------------------------------------------------------
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const rows: string[][] = [['', 'conns', 'payments/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'PG cpu ms/pay', 'API cpu ms/pay']];
const cpuCols = (run: CeilingRun | LoadRun, payments: number): string[] => {
  const cpu = cpuOf.get(run);
  if (!cpu || payments === 0) return ['—', '—'];
  // the sandbox's own backends are the stand-in processor's work, not the platform's: left out, as in the ceiling
  return [fmt((cpu.postgresMs - cpu.sandboxBackendsMs) / payments, 2), 'clients' in run ? '—' : fmt(cpu.apiMs / payments, 2)];
};
for (const r of ceilingRuns) {
  rows.push([r.script === 'ceiling.sql' ? 'ceiling (pgbench, pipelined)' : 'ceiling via functions (pgbench)', String(r.clients), fmt(r.paymentsPerSecond), fmt(r.p50Ms, 1), fmt(r.p99Ms, 1), '—', String(r.failed), ...cpuCols(r, r.payments)]);
}
for (const r of [...apiRuns, ...curve.filter((c) => !apiRuns.includes(c))]) {
  rows.push([`API, ${r.processes} process${r.processes > 1 ? 'es' : ''}`, String(r.connections), fmt(r.paymentsPerSecond), fmt(r.p50Ms, 1), fmt(r.p99Ms, 1),
    String(r.non2xx), String(r.errors + r.timeouts), ...cpuCols(r, r.createdKeys.size)]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log('\nsummary (measured on this machine now; see machine line above; "cpu ms/pay": CPU time per payment from /proc, ' +
  'PostgreSQL without the sandbox\'s own backends — on a busy machine the figure to compare, more than payments/s):');
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
console.log(`event JSON per event: API ${apiEventBytes} bytes, ceiling ${ceilingEventBytes} bytes`);
if (wire) {
  console.log(`database round trips per payment: API ${fmt(wire.counts.roundTrips / wire.payments, 1)} (counted on the wire), ceiling 2 (one pipeline per transaction)`);
}

const mark = (ok: boolean) => (ok ? '✓' : '✗');
// the targets are against the plain ceiling; the functions' run is beside it for comparison only
const plainCeiling = ceilingRuns.filter((r) => r.script === 'ceiling.sql');
const ceiling16 = plainCeiling.find((r) => r.clients === 16);
const api16 = apiRuns.find((r) => r.connections === 16);
const api1 = apiRuns.find((r) => r.connections === 1);
const ceilingBest = Math.max(...plainCeiling.filter((r) => r.clients >= 8 && r.clients <= 16).map((r) => r.paymentsPerSecond), NaN);
console.log('\ntargets (issue 13):');
if (ceiling16 && api16) {
  const ratio = api16.paymentsPerSecond / ceiling16.paymentsPerSecond;
  console.log(`  ratio API/ceiling at 16 connections   ${fmt(ratio, 2)}  (target ≥ 0.6)  ${mark(ratio >= 0.6)}`);
  const ceilingCpu = cpuOf.get(ceiling16);
  const apiCpu = cpuOf.get(api16);
  if (ceilingCpu && apiCpu && api16.createdKeys.size > 0) {
    // The bound every process shares: the machine's cores. 0.6 × the ceiling's rate fits in them only if a whole
    // payment (database, API, processor, load generator, all on these cores) costs at most this much CPU.
    const budgetMs = (os.availableParallelism() * 1000) / (0.6 * ceiling16.paymentsPerSecond);
    const everyProcessMs = (cpu: CpuUse) => cpu.postgresMs + cpu.apiMs + cpu.sandboxMs + cpu.clientMs;
    const perPayment = (ms: number) => ms / api16.createdKeys.size;
    console.log(`    the cores' bound: 0.6 × ${fmt(ceiling16.paymentsPerSecond)}/s on ${os.availableParallelism()} cores leaves ${fmt(budgetMs, 2)} ms of CPU ` +
      'per payment, every process together;');
    console.log(`    the API's payments took ${fmt(perPayment(everyProcessMs(apiCpu)), 2)} ms (PostgreSQL ${fmt(perPayment(apiCpu.postgresMs), 2)} with the sandbox's own writes, ` +
      `API ${fmt(perPayment(apiCpu.apiMs), 2)}, sandbox ${fmt(perPayment(apiCpu.sandboxMs), 2)}, load generator ${fmt(perPayment(apiCpu.clientMs), 2)}), ` +
      `the ceiling's ${fmt(everyProcessMs(ceilingCpu) / ceiling16.payments, 2)} ms`);
  }
}
if (api1) console.log(`  API p50 at 1 connection              ${fmt(api1.p50Ms, 1)} ms  (target ≤ 6 ms)  ${mark(api1.p50Ms <= 6)}`);
if (api16) {
  console.log(`  API p99 at 16 connections            ${fmt(api16.p99Ms, 1)} ms  (target ≤ 50 ms)  ${mark(api16.p99Ms <= 50)}`);
  // PostgreSQL alone, the same rows at the same concurrency: how far its own p99 sits from its p50 on this machine
  if (ceiling16) console.log(`    PostgreSQL alone, the same rows at 16 clients in this run: p50 ${fmt(ceiling16.p50Ms, 1)} ms, p99 ${fmt(ceiling16.p99Ms, 1)} ms`);
}
if (Number.isFinite(ceilingBest)) console.log(`  ceiling at 8–16 clients (best)       ${fmt(ceilingBest)}/s  (target ≥ 800/s)  ${mark(ceilingBest >= 800)}`);
if (wire) {
  const trips = wire.counts.roundTrips / wire.payments;
  console.log(`  database round trips per payment     ${fmt(trips, 2)}  (target 2)  ${mark(trips <= 2)}`);
}
console.log(`  0 errors, every 201 counted once     ${mark(!failed)}`);
if (curve.length > 0) {
  console.log('\nscale-out (one database, one sandbox):');
  for (const connections of scaleOutConnections) {
    const points = curve.filter((c) => c.connections === connections).sort((a, b) => a.processes - b.processes);
    const base = points[0]?.paymentsPerSecond ?? NaN;
    console.log(`  ${connections} connections: ` + points.map((p) => `${p.processes} → ${fmt(p.paymentsPerSecond)}/s (×${fmt(p.paymentsPerSecond / base, 2)}, p99 ${fmt(p.p99Ms)} ms)`).join(', ') +
      (ceiling16 && connections === 16 ? `; ceiling at 16: ${fmt(ceiling16.paymentsPerSecond)}/s` : ''));
  }
}
if (profileDir) console.log(`\nCPU profiles of the API processes (open in Chrome DevTools or speedscope): ${profileDir}`);
process.exit(failed ? 1 : 0);
