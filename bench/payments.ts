// bench:payments — the platform on a throwaway embedded PostgreSQL (API and sandbox processor as separate
// processes, sandbox at zero added latency), autocannon driving POST /v1/payments (4242…, automatic capture, a fresh
// Idempotency-Key per request) at fixed concurrency for a fixed time. Then the same SQL through pg alone
// (bench:db-ceiling) at the same concurrency, and the ratio. Prints figures; asserts nothing about speed.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { createBenchTenant, envInt, freePort, machineLine, platformEnv, startBenchDatabase, startRole } from './harness.js';
import { printCeiling, runDbCeiling } from './db-ceiling.js';

const connections = envInt('BENCH_CONNECTIONS', 64);
const durationS = envInt('BENCH_DURATION_S', 15);
const poolMax = envInt('BENCH_DB_POOL_MAX', 20);

console.log(`bench:payments — ${machineLine()}; ${connections} connections, ${durationS} s, DB pool ${poolMax}`);
const db = await startBenchDatabase();
const ports = { api: await freePort(), sandbox: await freePort() };
const env = platformEnv(db, ports, { DB_POOL_MAX: String(poolMax) });
const sandbox = await startRole('sandbox-processor', env, ports.sandbox, '/_control');
const api = await startRole('api', env, ports.api, '/readyz');
try {
  const { tenantId, token } = await createBenchTenant(api.url);
  const body = JSON.stringify({
    amount: 2000,
    currency: 'usd',
    payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: new Date().getUTCFullYear() + 3, cvc: '123' } },
    capture_method: 'automatic',
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  // warm-up: JIT, pool connections, prepared plans
  await autocannon({ url: `${api.url}/v1/payments`, connections: 8, duration: 2, method: 'POST', body, headers, requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }) }] });

  const result = await autocannon({
    url: `${api.url}/v1/payments`,
    connections,
    duration: durationS,
    method: 'POST',
    body,
    headers,
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }) }],
  });
  const ok = result['2xx'];
  const apiRate = ok / durationS;
  console.log(`api: ${apiRate.toFixed(0)} payments/s (${ok} created with 201, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}); ` +
    `latency p50 ${result.latency.p50} ms, p90 ${result.latency.p90} ms, p97.5 ${result.latency.p97_5} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);

  // after the API drained the requests autocannon abandoned at the end of the run
  await api.stop();
  await sandbox.stop();
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  const counts = (await owner.query("SELECT status, count(*)::int AS n FROM payments GROUP BY status ORDER BY status")).rows as Array<{ status: string; n: number }>;
  await owner.end();
  console.log(`payments in the database by status (warm-up included, after the API drained): ${counts.map((c) => `${c.status}=${c.n}`).join(', ')}`);
  const ceiling = await runDbCeiling({ appUrl: db.appUrl, tenantId, concurrency: connections, durationMs: durationS * 1000, poolMax });
  printCeiling(ceiling, connections);
  console.log(`ratio api/ceiling: ${(apiRate / ceiling.paymentsPerSecond).toFixed(2)} (targets: ≥ 1000 payments/s, p99 ≤ 50 ms, ratio ≥ 0.6)`);
} finally {
  await api.stop();
  await sandbox.stop();
  await db.stop();
}
