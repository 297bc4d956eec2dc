import { sql, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../../platform/db.js';
import type { WebhookDeliveriesTable, WebhookDeliveryAttemptsTable } from '../../../platform/db-schema.js';
import { pageWindow, type PageQuery } from '../../../platform/http/pagination.js';

export type DeliveryRow = Selectable<WebhookDeliveriesTable> & { event_type: string };
export type AttemptRow = Selectable<WebhookDeliveryAttemptsTable>;

/** A delivery claimed by one worker, with what it needs to send it without another query. */
export interface ClaimedDelivery {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  attempt_count: number;
  /** The lease; recording the outcome is guarded by it, so a worker whose lease was taken over cannot overwrite. */
  locked_until: Date;
  created_at: Date;
  url: string;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_expires_at: Date | null;
  event_id: string;
  event_type: string;
  event_object_type: string;
  event_object_id: string;
  event_data: Record<string, unknown>;
  event_created_at: Date;
}

// Claims are serialized across all workers by this transaction-scoped advisory lock. A claim takes a few
// milliseconds; serializing them is what makes the per-endpoint in-flight count exact (two workers counting
// concurrently would each see room for the same slots). The delivery itself runs with no lock held.
const CLAIM_LOCK_KEY = 7_310_420_001;

/**
 * Claims up to `limit` due deliveries and leases them for `leaseMs`:
 * - only to enabled endpoints, and never more than `maxPerEndpoint` in flight per endpoint (leases still running,
 *   whichever worker holds them) — a slow endpoint holds at most that many slots;
 * - fair: rows are ranked within their endpoint (oldest first), then within their tenant by that rank, and taken
 *   round-robin over tenants — a tenant with a huge backlog gets one row per round like everyone else;
 * - FOR UPDATE SKIP LOCKED, so rows being recorded or retried by someone else are skipped, never waited for.
 * An expired lease (worker crashed mid-delivery) makes the row due again: delivery is at least once, with the
 * same webhook-id, and receivers deduplicate on it.
 */
export async function claimDueDeliveries(
  tx: Tx,
  options: { limit: number; maxPerEndpoint: number; leaseMs: number },
): Promise<ClaimedDelivery[]> {
  await sql`SELECT pg_advisory_xact_lock(${CLAIM_LOCK_KEY}::bigint)`.execute(tx);
  const result = await sql<ClaimedDelivery>`
    WITH in_flight AS (
      SELECT endpoint_id, count(*) AS n
      FROM webhook_deliveries
      WHERE status = 'pending' AND locked_until > now()
      GROUP BY endpoint_id
    ), ranked AS (
      SELECT d.id, d.tenant_id, d.next_attempt_at, coalesce(f.n, 0) AS in_flight,
             row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS endpoint_rank
      FROM webhook_deliveries d
      JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled'
      LEFT JOIN in_flight f ON f.endpoint_id = d.endpoint_id
      WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.locked_until IS NULL OR d.locked_until <= now())
    ), eligible AS (
      SELECT id, next_attempt_at,
             row_number() OVER (PARTITION BY tenant_id ORDER BY endpoint_rank, next_attempt_at, id) AS tenant_rank
      FROM ranked
      WHERE endpoint_rank + in_flight <= ${options.maxPerEndpoint}
    ), picked AS (
      SELECT id FROM eligible ORDER BY tenant_rank, next_attempt_at, id LIMIT ${options.limit}
    ), locked AS (
      SELECT d.id FROM webhook_deliveries d WHERE d.id IN (SELECT id FROM picked) FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET locked_until = date_trunc('milliseconds', now() + ${options.leaseMs} * interval '1 millisecond')
    FROM locked, webhook_endpoints e, events ev
    WHERE d.id = locked.id AND e.id = d.endpoint_id AND ev.id = d.event_id
    RETURNING d.id, d.tenant_id, d.endpoint_id, d.attempt_count, d.locked_until, d.created_at,
              e.url, e.secret_enc, e.previous_secret_enc, e.previous_secret_expires_at,
              ev.id AS event_id, ev.type AS event_type, ev.object_type AS event_object_type,
              ev.object_id AS event_object_id, ev.data AS event_data, ev.created_at AS event_created_at
  `.execute(tx);
  return result.rows;
}

export interface AttemptRecord {
  attemptedAt: Date;
  outcome: 'delivered' | 'failed' | 'endpoint_gone';
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
}

/** The attempt happened, whatever became of the lease: it is always recorded (if the delivery still exists). */
export async function insertAttempt(tx: Tx, tenantId: string, deliveryId: string, a: AttemptRecord): Promise<void> {
  await sql`
    INSERT INTO webhook_delivery_attempts (id, tenant_id, delivery_id, attempted_at, outcome, status_code, latency_ms, error, response_body)
    SELECT new_prefixed_id('wha'), tenant_id, id, ${a.attemptedAt}, ${a.outcome}, ${a.statusCode}, ${a.latencyMs}, ${a.error}, ${a.responseBody}
    FROM webhook_deliveries WHERE tenant_id = ${tenantId} AND id = ${deliveryId}
  `.execute(tx);
}

export type NextDeliveryState =
  | { status: 'succeeded'; deliveredAt: Date }
  | { status: 'failed' }
  | { status: 'pending'; nextAttemptAt: Date };

/** Applies the outcome of one attempt if this worker still holds the lease; returns whether it did. */
export async function finishAttempt(
  tx: Tx,
  tenantId: string,
  deliveryId: string,
  lease: Date,
  attempt: AttemptRecord,
  next: NextDeliveryState,
): Promise<boolean> {
  const result = await tx
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      status: next.status,
      attempt_count: eb('attempt_count', '+', 1),
      next_attempt_at: next.status === 'pending' ? next.nextAttemptAt : null,
      locked_until: null,
      last_attempt_at: attempt.attemptedAt,
      last_status_code: attempt.statusCode,
      last_error: attempt.error,
      ...(next.status === 'succeeded' ? { delivered_at: next.deliveredAt } : {}),
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', deliveryId)
    .where('status', '=', 'pending')
    .where('locked_until', '=', lease)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

const deliveryColumns = [
  'd.id', 'd.tenant_id', 'd.endpoint_id', 'd.event_id', 'd.status', 'd.attempt_count', 'd.next_attempt_at', 'd.locked_until',
  'd.last_attempt_at', 'd.last_status_code', 'd.last_error', 'd.delivered_at', 'd.created_at', 'ev.type as event_type',
] as const;

export async function listEndpointDeliveries(
  q: Queryable,
  tenantId: string,
  endpointId: string,
  filters: { status?: 'pending' | 'succeeded' | 'failed' | undefined },
  page: PageQuery,
): Promise<DeliveryRow[]> {
  const w = pageWindow(page);
  return q
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as ev', 'ev.id', 'd.event_id')
    .select(deliveryColumns)
    .where('d.tenant_id', '=', tenantId)
    .where('d.endpoint_id', '=', endpointId)
    .$if(filters.status !== undefined, (qb) => qb.where('d.status', '=', filters.status!))
    .$if(w.cursor !== undefined, (qb) => qb.where('d.id', w.op, w.cursor!))
    .orderBy('d.id', w.order)
    .limit(w.take)
    .execute();
}

export async function findDelivery(q: Queryable, tenantId: string, deliveryId: string): Promise<DeliveryRow | undefined> {
  return q
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as ev', 'ev.id', 'd.event_id')
    .select(deliveryColumns)
    .where('d.tenant_id', '=', tenantId)
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();
}

export async function lockDelivery(tx: Tx, tenantId: string, deliveryId: string) {
  return tx
    .selectFrom('webhook_deliveries')
    .select(['id', 'endpoint_id', 'status', 'locked_until'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', deliveryId)
    .forUpdate()
    .executeTakeFirst();
}

/** Manual retry: due now, keeping its attempt count (a retry of an exhausted delivery is one more attempt). */
export async function requeueDelivery(tx: Tx, tenantId: string, deliveryId: string): Promise<void> {
  await tx
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: new Date(), locked_until: null })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', deliveryId)
    .execute();
}

export async function listAttempts(q: Queryable, tenantId: string, deliveryIds: string[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return q
    .selectFrom('webhook_delivery_attempts')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('delivery_id', 'in', deliveryIds)
    .orderBy('attempted_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
}

/** Replay: new pending deliveries for the tenant's events of the given types created in the window. */
export async function countEventsForReplay(q: Queryable, tenantId: string, types: string[], gte: Date, lte: Date): Promise<number> {
  const row = await q
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<bigint>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('type', 'in', types)
    .where('created_at', '>=', gte)
    .where('created_at', '<=', lte)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertReplayDeliveries(tx: Tx, tenantId: string, endpointId: string, types: string[], gte: Date, lte: Date): Promise<number> {
  const result = await sql`
    INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, next_attempt_at)
    SELECT new_prefixed_id('whd'), ev.tenant_id, ${endpointId}, ev.id, 'pending', clock_timestamp()
    FROM events ev
    WHERE ev.tenant_id = ${tenantId} AND ev.type = ANY(${types}::text[])
      AND ev.created_at >= ${gte} AND ev.created_at <= ${lte}
    ORDER BY ev.id
  `.execute(tx);
  return Number(result.numAffectedRows ?? 0n);
}

/** Cross-tenant, for the backlog gauge: deliveries waiting for an enabled endpoint. */
export async function countPendingDeliveries(q: Queryable): Promise<number> {
  const row = await q
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select((eb) => eb.fn.countAll<bigint>().as('n'))
    .where('d.status', '=', 'pending')
    .where('e.status', '=', 'enabled')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
