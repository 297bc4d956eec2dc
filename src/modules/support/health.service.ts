import { withCrossTenantTx, type Db } from '../../platform/db.js';
import type { CircuitStateName } from '../processors/index.js';
import * as repo from './health.repository.js';
import type { Health } from './support.schema.js';

export interface HealthDeps {
  db: Db;
  environment: string;
  version: string;
  /** The API's readiness (false while it shuts down). */
  apiReady: () => boolean;
  expectedMigrations: number;
  processor: { name: string; circuitState(): CircuitStateName };
  /** How long a card payment may stay `processing` before it counts as stuck (the longest a processor call lasts). */
  stuckAfterMs: number;
}

const WORKER_READY_WITHIN_MS = 30_000;
const ERROR_WINDOW_MS = 15 * 60 * 1000;
const STUCK_SAMPLE = 10;
const ENDPOINTS_SHOWN = 50;

const iso = (d: Date | null): string | null => (d === null ? null : new Date(d).toISOString());

/** The system as the support team sees it: one read-only snapshot across tenants. */
export async function systemHealth(deps: HealthDeps, now: Date = new Date()): Promise<Health> {
  return withCrossTenantTx(deps.db, async (tx) => {
    const beats = await repo.heartbeats(tx);
    const stats = await repo.attemptStats(tx, ERROR_WINDOW_MS);
    const stuck = await repo.stuckPayments(tx, deps.stuckAfterMs, STUCK_SAMPLE);
    const bank = await repo.bankTransfersWaiting(tx);
    const attention = await repo.attentionCounts(tx);
    const backlog = await repo.webhookBacklog(tx);
    const endpoints = await repo.troubledEndpoints(tx, ENDPOINTS_SHOWN);
    const applied = await repo.appliedMigrations(tx);
    return {
      object: 'system_health' as const,
      environment: deps.environment,
      checked_at: now.toISOString(),
      api: { ready: deps.apiReady() && applied >= deps.expectedMigrations, version: deps.version },
      workers: {
        ready: beats.some((b) => now.getTime() - b.last_beat_at.getTime() <= WORKER_READY_WITHIN_MS),
        instances: beats.map((b) => ({ worker_id: b.worker_id, hostname: b.hostname, started_at: b.started_at.toISOString(), last_beat_at: b.last_beat_at.toISOString() })),
      },
      processor: {
        name: deps.processor.name,
        circuit_state: deps.processor.circuitState(),
        attempts_15m: stats.attempts,
        errors_15m: stats.errors,
        error_rate_15m: stats.attempts === 0 ? 0 : Math.round((stats.errors / stats.attempts) * 10_000) / 10_000,
      },
      stuck_payments: { count: stuck.count, oldest_created_at: iso(stuck.oldest), sample: stuck.ids },
      bank_transfers_waiting: { count: bank.count, oldest_created_at: iso(bank.oldest) },
      payments_needing_attention: {
        count: attention.reduce((n, r) => n + r.count, 0),
        by_reason: Object.fromEntries(attention.map((r) => [r.reason, r.count])),
      },
      webhooks: {
        pending: backlog.pending,
        oldest_pending_at: iso(backlog.oldest),
        endpoints: endpoints.map((e) => ({
          id: e.id, tenant_id: e.tenant_id, url: e.url, status: e.status, disabled_reason: e.disabled_reason,
          failing_since: iso(e.failing_since), pending: e.pending, oldest_pending_at: iso(e.oldest_pending_at),
        })),
      },
      migrations: { applied, expected: deps.expectedMigrations },
    };
  });
}
