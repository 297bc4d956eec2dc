import { sql, type Selectable } from 'kysely';
import type { Queryable } from '../../platform/db.js';
import type { WorkerHeartbeatsTable } from '../../platform/db-schema.js';
import type { EndpointHealthRow } from './support.repository.js';

// The system health page's queries: each an aggregate over a partial index or a small table.

export async function heartbeats(q: Queryable): Promise<Array<Selectable<WorkerHeartbeatsTable>>> {
  return q.selectFrom('worker_heartbeats').selectAll().orderBy('last_beat_at', 'desc').limit(100).execute();
}

export async function attemptStats(q: Queryable, sinceMs: number): Promise<{ attempts: number; errors: number }> {
  // "errors" are calls the processor did not answer cleanly (outcome unknown, error, unavailable, timed out), not declines.
  const res = await sql<{ attempts: number; errors: number }>`
    SELECT count(*)::int AS attempts,
           count(*) FILTER (WHERE status = 'unknown' OR (status = 'failed' AND failure_code IN ('processing_error', 'processor_unavailable', 'processor_timeout')))::int AS errors
    FROM payment_attempts WHERE created_at >= now() - make_interval(secs => ${sinceMs / 1000}::float8)`.execute(q);
  return res.rows[0] ?? { attempts: 0, errors: 0 };
}

/** Payments still `processing` after `olderThanMs` (cards only: bank transfers wait on the rail by design). */
export async function stuckPayments(q: Queryable, olderThanMs: number, sample: number) {
  const res = await sql<{ count: number; oldest: Date | null; ids: string[] | null }>`
    SELECT count(*)::int AS count, min(created_at) AS oldest,
           (array_agg(id ORDER BY created_at))[1:${sample}] AS ids
    FROM payments
    WHERE status = 'processing' AND method = 'card' AND created_at < now() - make_interval(secs => ${olderThanMs / 1000}::float8)`.execute(q);
  const row = res.rows[0];
  return { count: row?.count ?? 0, oldest: row?.oldest ?? null, ids: row?.ids ?? [] };
}

export async function bankTransfersWaiting(q: Queryable): Promise<{ count: number; oldest: Date | null }> {
  const res = await sql<{ count: number; oldest: Date | null }>`
    SELECT count(*)::int AS count, min(created_at) AS oldest
    FROM payments WHERE status = 'processing' AND method = 'bank_transfer'`.execute(q);
  return res.rows[0] ?? { count: 0, oldest: null };
}

export async function attentionCounts(q: Queryable): Promise<Array<{ reason: string; count: number }>> {
  const res = await sql<{ reason: string; count: number }>`
    SELECT attention_reason AS reason, count(*)::int AS count FROM payments WHERE attention_reason IS NOT NULL GROUP BY attention_reason`.execute(q);
  return res.rows;
}

export async function webhookBacklog(q: Queryable): Promise<{ pending: number; oldest: Date | null }> {
  const res = await sql<{ pending: number; oldest: Date | null }>`
    SELECT count(*)::int AS pending, min(created_at) AS oldest FROM webhook_deliveries WHERE status = 'pending'`.execute(q);
  return res.rows[0] ?? { pending: 0, oldest: null };
}

/** Endpoints worth a look: disabled, failing, or with deliveries waiting; the worst first. */
export async function troubledEndpoints(q: Queryable, limit: number): Promise<Array<Omit<EndpointHealthRow, 'failed_24h'>>> {
  const res = await sql<Omit<EndpointHealthRow, 'failed_24h'>>`
    WITH backlog AS (
      SELECT endpoint_id, count(*)::int AS pending, min(created_at) AS oldest_pending_at
      FROM webhook_deliveries WHERE status = 'pending' GROUP BY endpoint_id
    )
    SELECT e.id, e.tenant_id, e.url, e.status, e.disabled_reason, e.failing_since,
           coalesce(b.pending, 0) AS pending, b.oldest_pending_at
    FROM webhook_endpoints e LEFT JOIN backlog b ON b.endpoint_id = e.id
    WHERE e.status = 'disabled' OR e.failing_since IS NOT NULL OR b.pending > 0
    ORDER BY (e.status = 'disabled') DESC, e.failing_since NULLS LAST, b.oldest_pending_at NULLS LAST, e.id
    LIMIT ${limit}`.execute(q);
  return res.rows;
}

export async function appliedMigrations(q: Queryable): Promise<number> {
  const res = await sql<{ version: number | null }>`SELECT max(version) AS version FROM schema_migrations`.execute(q);
  return res.rows[0]?.version ?? 0;
}
