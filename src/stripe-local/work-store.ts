import type pg from 'pg';
import type { Queryable } from './stripe-local-store.js';

/**
 * SQL of the server's work records: idempotency keys, the webhook outbox and due tasks (delayed state changes).
 * Same schema as the objects (stripe-local-store.ts), so a change and its follow-up work commit together.
 */
const SCHEMA = 'stripe_local';

// ---- idempotency

export interface IdempotencyRow {
  key: string;
  method: string;
  path: string;
  fingerprint: string;
  state: 'executing' | 'done';
  request_id: string;
  status_code: number | null;
  body: unknown;
}

/** Claims `key` for this request, or returns the row already there (unexpired). Runs in its own statement. */
export async function claimIdempotencyKey(
  q: Queryable,
  claim: { key: string; method: string; path: string; fingerprint: string; bootId: string; requestId: string; ttlMs: number },
): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRow }> {
  // A key past its expiry is forgotten, as Stripe prunes keys after 24 h: the next use is a new request.
  await q.query(`delete from ${SCHEMA}.idempotency_keys where key = $1 and expires_at <= now()`, [claim.key]);
  const inserted = await q.query(
    `insert into ${SCHEMA}.idempotency_keys (key, method, path, fingerprint, state, boot_id, request_id, expires_at)
     values ($1, $2, $3, $4, 'executing', $5, $6, now() + make_interval(secs => $7::float8 / 1000))
     on conflict (key) do nothing`,
    [claim.key, claim.method, claim.path, claim.fingerprint, claim.bootId, claim.requestId, claim.ttlMs],
  );
  if (inserted.rowCount === 1) return { claimed: true };
  const { rows } = await q.query<IdempotencyRow>(
    `select key, method, path, fingerprint, state, request_id, status_code, body from ${SCHEMA}.idempotency_keys where key = $1`,
    [claim.key],
  );
  // Deleted in between (expired and pruned by another request): claim again.
  if (!rows[0]) return claimIdempotencyKey(q, claim);
  return { claimed: false, existing: rows[0] };
}

export async function saveIdempotentResponse(q: Queryable, key: string, statusCode: number, body: unknown): Promise<void> {
  await q.query(`update ${SCHEMA}.idempotency_keys set state = 'done', status_code = $2, body = $3 where key = $1`, [key, statusCode, body]);
}

/**
 * Claims left `executing` by an earlier process died with it; their work was rolled back with their transaction,
 * so the key is free again (one server per schema).
 */
export async function releaseOrphanedClaims(q: Queryable, bootId: string): Promise<number> {
  const { rowCount } = await q.query(`delete from ${SCHEMA}.idempotency_keys where state = 'executing' and boot_id <> $1`, [bootId]);
  return rowCount ?? 0;
}

export async function pruneExpiredIdempotencyKeys(q: Queryable): Promise<number> {
  const { rowCount } = await q.query(`delete from ${SCHEMA}.idempotency_keys where expires_at <= now()`);
  return rowCount ?? 0;
}

// ---- webhook outbox

export async function enqueueWebhook(q: Queryable, eventId: string): Promise<void> {
  await q.query(`insert into ${SCHEMA}.webhook_outbox (event_id, next_attempt_at) values ($1, now())`, [eventId]);
}

/** Due deliveries, locked so that two loops never send the same attempt; the caller holds `tx` while sending. */
export async function lockDueWebhooks(tx: pg.PoolClient, limit: number): Promise<Array<{ event_id: string; attempts: number }>> {
  const { rows } = await tx.query<{ event_id: string; attempts: number }>(
    `select event_id, attempts from ${SCHEMA}.webhook_outbox where state = 'pending' and next_attempt_at <= now()
     order by next_attempt_at, seq limit $1 for update skip locked`,
    [limit],
  );
  return rows;
}

export async function leaseWebhook(tx: pg.PoolClient, eventId: string, leaseMs: number): Promise<void> {
  await tx.query(`update ${SCHEMA}.webhook_outbox set next_attempt_at = now() + make_interval(secs => $2::float8 / 1000) where event_id = $1`, [
    eventId,
    leaseMs,
  ]);
}

export async function recordWebhookAttempt(
  q: Queryable,
  eventId: string,
  outcome: { state: 'pending' | 'delivered' | 'given_up'; retryInMs?: number; error?: string },
): Promise<void> {
  await q.query(
    `update ${SCHEMA}.webhook_outbox set attempts = attempts + 1, state = $2, last_error = $3,
       next_attempt_at = now() + make_interval(secs => $4::float8 / 1000) where event_id = $1`,
    [eventId, outcome.state, outcome.error ?? null, outcome.retryInMs ?? 0],
  );
}

export async function countPendingWebhooks(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: string }>(`select count(*) as n from ${SCHEMA}.webhook_outbox where state = 'pending'`);
  // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- an aggregate without GROUP BY returns one row
  return Number(rows[0]!.n);
}

// ---- due tasks (settlements and other delayed state changes)

export interface DueTask {
  id: string;
  kind: string;
  object_id: string;
  payload: Record<string, unknown>;
}

export async function scheduleTask(q: Queryable, task: { kind: string; objectId: string; dueInMs: number; payload?: Record<string, unknown> }): Promise<void> {
  await q.query(
    `insert into ${SCHEMA}.due_tasks (kind, object_id, due_at, payload) values ($1, $2, now() + make_interval(secs => $3::float8 / 1000), $4)`,
    [task.kind, task.objectId, task.dueInMs, task.payload ?? {}],
  );
}

export async function lockDueTasks(tx: pg.PoolClient, limit: number): Promise<DueTask[]> {
  const { rows } = await tx.query<DueTask>(
    `select id::text, kind, object_id, payload from ${SCHEMA}.due_tasks where due_at <= now() order by due_at, id limit $1 for update skip locked`,
    [limit],
  );
  return rows;
}

export async function deleteTask(q: Queryable, id: string): Promise<void> {
  await q.query(`delete from ${SCHEMA}.due_tasks where id = $1`, [id]);
}

export async function postponeTask(q: Queryable, id: string, delayMs: number): Promise<void> {
  await q.query(`update ${SCHEMA}.due_tasks set due_at = now() + make_interval(secs => $2::float8 / 1000) where id = $1`, [id, delayMs]);
}

export async function deleteTasksFor(q: Queryable, objectId: string): Promise<void> {
  await q.query(`delete from ${SCHEMA}.due_tasks where object_id = $1`, [objectId]);
}
