// bench:db-ceiling — the SQL a card payment's request path issues (transaction 1: idempotency claim, resume check,
// payment, attempt, transition, event; transaction 2: lock, outcome, transition, event, idempotent answer; the same
// repository functions, so the same statements), run straight
// through pg at the API benchmark's concurrency with no HTTP, auth or processor in the way. Prints payments/s and
// latency percentiles: the ceiling the API can approach on this machine.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { createDb, withTenantTx } from '../src/platform/db.js';
import { createMetrics } from '../src/platform/metrics.js';
import { newId } from '../src/platform/ids.js';
import * as repo from '../src/modules/payments/payments.repository.js';
import { recordEvent } from '../src/modules/events/index.js';
import { createBenchTenant, envInt, freePort, machineLine, percentile, platformEnv, startBenchDatabase, startRole } from './harness.js';

export interface CeilingResult {
  paymentsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

export async function runDbCeiling(options: { appUrl: string; tenantId: string; concurrency: number; durationMs: number; poolMax: number }): Promise<CeilingResult> {
  const handle = createDb({ connectionString: options.appUrl, max: options.poolMax, applicationName: 'nimbuspay-bench-ceiling' });
  const { db } = handle;
  const metrics = createMetrics({ role: 'bench', collectDefaults: false });
  const tenantId = options.tenantId;
  const latencies: number[] = [];
  const deadline = Date.now() + options.durationMs;

  async function onePayment(): Promise<void> {
    const key = randomUUID();
    const { payment, attempt } = await withTenantTx(db, tenantId, async (tx) => {
      await sql`INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, state, locked_until)
          VALUES (${tenantId}, ${key}, 'POST', '/v1/payments', ${'h'.repeat(43)}, 'in_progress', now() + interval '60 seconds')
          ON CONFLICT (tenant_id, key) DO NOTHING RETURNING key`.execute(tx);
      await repo.findPaymentByIdempotencyKey(tx, tenantId, key);
      const payment = await repo.insertPayment(tx, tenantId, {
        id: newId('payment'), status: 'processing', amount: 2000n, currency: 'usd', description: null, metadata: '{}', customer_reference: null,
        idempotency_key: key, method: 'card', capture_method: 'automatic', card_brand: 'visa', card_last4: '4242', card_exp_month: 12, card_exp_year: 2030,
        card_fingerprint: 'f'.repeat(22),
      });
      const attempt = await repo.insertAttempt(tx, tenantId, { payment_id: payment.id, operation: 'authorize', amount: 2000n, reconcileAfterMs: 35_000 });
      await repo.insertTransition(tx, tenantId, { payment_id: payment.id, from_status: null, to_status: 'processing', reason: 'created' });
      await recordEvent(tx, tenantId, { type: 'payment.processing', objectType: 'payment', objectId: payment.id, object: { id: payment.id } });
      return { payment, attempt };
    });
    await withTenantTx(db, tenantId, async (tx) => {
      const locked = await repo.lockPaymentForUpdate(tx, tenantId, payment.id);
      await repo.completeAttempt(tx, tenantId, attempt.id, { status: 'succeeded', processor_reference: 'auth_x', latency_ms: 1 });
      const updated = await repo.updatePayment(tx, tenantId, payment.id, locked!.status, { status: 'succeeded', processor_reference: 'auth_x', amount_capturable: 0n, amount_captured: 2000n });
      await repo.insertTransition(tx, tenantId, { payment_id: payment.id, from_status: 'processing', to_status: 'succeeded', reason: 'authorized and captured' });
      await recordEvent(tx, tenantId, { type: 'payment.succeeded', objectType: 'payment', objectId: payment.id, object: { id: updated!.id } });
      await tx.updateTable('idempotency_keys')
        .set({ state: 'completed', response_status: 201, response_body: JSON.stringify({ id: payment.id }), completed_at: sql`now()`, locked_until: null })
        .where('tenant_id', '=', tenantId).where('key', '=', key).execute();
    });
    metrics.paymentsTotal.inc({ method: 'card', status: 'succeeded', failure_code: '' });
  }

  const started = Date.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        await onePayment();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  await handle.close();
  latencies.sort((a, b) => a - b);
  return { paymentsPerSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), count: latencies.length };
}

export function printCeiling(r: CeilingResult, concurrency: number): void {
  console.log(`db ceiling: ${r.paymentsPerSecond.toFixed(0)} payments/s over ${r.count} payments at concurrency ${concurrency}; ` +
    `latency p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const concurrency = envInt('BENCH_CONNECTIONS', 64);
  const durationMs = envInt('BENCH_DURATION_S', 15) * 1000;
  const poolMax = envInt('BENCH_DB_POOL_MAX', 20);
  console.log(`bench:db-ceiling — ${machineLine()}`);
  const db = await startBenchDatabase();
  const ports = { api: await freePort(), sandbox: await freePort() };
  const api = await startRole('api', platformEnv(db, ports), ports.api, '/readyz');
  try {
    const { tenantId } = await createBenchTenant(api.url);
    await api.stop();
    printCeiling(await runDbCeiling({ appUrl: db.appUrl, tenantId, concurrency, durationMs, poolMax }), concurrency);
  } finally {
    await api.stop();
    await db.stop();
  }
}
