import { sql, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../../platform/db.js';
import type { WebhookDeliveriesTable, WebhookDeliveryAttemptsTable } from '../../../platform/db-schema.js';
import { pageWindow, type PageQuery } from '../../../platform/pagination.js';

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
  /** The endpoint's failure clock was running when claimed: a success then has to stop it. */
  endpoint_failing: boolean;
  event_id: string;
  event_type: string;
  event_object_type: string;
  event_object_id: string;
  event_data: Record<string, unknown>;
  event_created_at: Date;
}

/**
 * Claims up to `limit` due deliveries and leases them for `leaseMs`, in one round trip (migration 0013's
 * `claim_webhook_deliveries`):
 * - claims are serialized across all workers by a transaction-scoped advisory lock, and the claim reads with a
 *   snapshot taken after the lock is granted, so it sees every lease the previous claimer committed: that is what
 *   makes the per-endpoint in-flight count exact. A claim takes about a millisecond; the deliveries themselves run
 *   with no lock held;
 * - only to enabled endpoints, and never more than `maxPerEndpoint` in flight per endpoint (leases still running,
 *   whichever worker holds them) — a slow endpoint holds at most that many slots;
 * - per endpoint, only its oldest due rows are read (an index range of at most `maxPerEndpoint` rows), so the
 *   cost follows the number of endpoints, not the size of the backlog;
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
  const result = await sql<ClaimedDelivery>`
    SELECT * FROM claim_webhook_deliveries(${options.limit}::int, ${options.maxPerEndpoint}::int, ${options.leaseMs}::int)
  `.execute(tx);
  return result.rows;
}

export interface AttemptOutcome {
  tenantId: string;
  deliveryId: string;
  /** The lease the attempt ran under: the delivery's state changes only if it is still this worker's lease. */
  lease: Date;
  attemptedAt: Date;
  outcome: 'delivered' | 'failed' | 'endpoint_gone';
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  next: NextDeliveryState;
}

export type NextDeliveryState =
  | { status: 'succeeded'; deliveredAt: Date }
  | { status: 'failed' }
  | { status: 'pending'; nextAttemptAt: Date };

/**
 * Records a batch of attempts in one statement (the worker records everything that finished since its last
 * round at once). Every attempt is stored — it happened, whatever became of the lease — if its delivery still
 * exists; the delivery's state changes only where this worker still holds the lease. Returns the ids of the
 * deliveries whose state changed.
 */
export async function recordAttempts(tx: Tx, outcomes: readonly AttemptOutcome[]): Promise<Set<string>> {
  if (outcomes.length === 0) return new Set();
  const rows = JSON.stringify(outcomes.map((o) => ({
    tenant_id: o.tenantId,
    delivery_id: o.deliveryId,
    lease: o.lease.toISOString(),
    attempted_at: o.attemptedAt.toISOString(),
    outcome: o.outcome,
    status_code: o.statusCode,
    latency_ms: o.latencyMs,
    error: o.error,
    response_body: o.responseBody,
    status: o.next.status,
    next_attempt_at: o.next.status === 'pending' ? o.next.nextAttemptAt.toISOString() : null,
    delivered_at: o.next.status === 'succeeded' ? o.next.deliveredAt.toISOString() : null,
  })));
  // One statement: the attempts are inserted from the rows as they were before the update (a data-modifying CTE
  // sees the snapshot of the statement), which is all the insert needs.
  // The insert finds its deliveries by primary-key probes (= ANY(ARRAY(…)), as the claim does). Joined on the keys
  // alone, the planner (100 rows guessed for jsonb_to_recordset, few rows guessed through the row-level-security
  // filter) hashed the batch and scanned the whole table instead: 3.8 of the statement's 4.4 ms at 10k deliveries,
  // a cost that grows with the table. The update needs no such help: it walks the small index of leased rows,
  // i.e. only what is in flight.
  const updated = await sql<{ id: string }>`
    WITH r AS (
      SELECT * FROM jsonb_to_recordset(${rows}::jsonb) AS r(
        tenant_id text, delivery_id text, lease timestamptz, attempted_at timestamptz, outcome text, status_code integer,
        latency_ms integer, error text, response_body text, status text, next_attempt_at timestamptz, delivered_at timestamptz)
    ), attempts AS (
      INSERT INTO webhook_delivery_attempts (id, tenant_id, delivery_id, attempted_at, outcome, status_code, latency_ms, error, response_body)
      SELECT new_prefixed_id('wha'), d.tenant_id, d.id, r.attempted_at, r.outcome, r.status_code, r.latency_ms, r.error, r.response_body
      FROM r JOIN webhook_deliveries d ON d.tenant_id = r.tenant_id AND d.id = r.delivery_id
      WHERE d.id = ANY(ARRAY(SELECT r.delivery_id FROM r))
    )
    UPDATE webhook_deliveries d
    SET status = r.status, attempt_count = d.attempt_count + 1, next_attempt_at = r.next_attempt_at, locked_until = NULL,
        last_attempt_at = r.attempted_at, last_status_code = r.status_code, last_error = r.error,
        delivered_at = coalesce(r.delivered_at, d.delivered_at)
    FROM r
    WHERE d.tenant_id = r.tenant_id AND d.id = r.delivery_id AND d.status = 'pending' AND d.locked_until = r.lease
    RETURNING d.id
  `.execute(tx);
  return new Set(updated.rows.map((r) => r.id));
}

/** A tenant's deliveries as the API shows them: with their event's type. */
function tenantDeliveries(q: Queryable, tenantId: string) {
  return q
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as ev', 'ev.id', 'd.event_id')
    .select([
      'd.id', 'd.tenant_id', 'd.endpoint_id', 'd.event_id', 'd.status', 'd.attempt_count', 'd.next_attempt_at', 'd.locked_until',
      'd.last_attempt_at', 'd.last_status_code', 'd.last_error', 'd.delivered_at', 'd.created_at', 'ev.type as event_type',
    ])
    .where('d.tenant_id', '=', tenantId);
}

export async function listEndpointDeliveries(
  q: Queryable,
  tenantId: string,
  endpointId: string,
  filters: { status?: 'pending' | 'succeeded' | 'failed' | undefined },
  page: PageQuery,
): Promise<DeliveryRow[]> {
  const w = pageWindow(page);
  const { status } = filters;
  const { cursor } = w;
  return tenantDeliveries(q, tenantId)
    .where('d.endpoint_id', '=', endpointId)
    .$call((qb) => (status === undefined ? qb : qb.where('d.status', '=', status)))
    .$call((qb) => (cursor === undefined ? qb : qb.where('d.id', w.op, cursor)))
    .orderBy('d.id', w.order)
    .limit(w.take)
    .execute();
}

export async function findDelivery(q: Queryable, tenantId: string, deliveryId: string): Promise<DeliveryRow | undefined> {
  return tenantDeliveries(q, tenantId).where('d.id', '=', deliveryId).executeTakeFirst();
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

/**
 * A dispatcher about to sleep asks producers to NOTIFY it (migration 0011), until `untilMs` from now at most: a
 * dispatcher that died stops costing producers a notification when its registration runs out.
 */
export async function registerSleepingDispatcher(q: Queryable, dispatcherId: string, untilMs: number): Promise<void> {
  await sql`
    INSERT INTO webhook_dispatcher_sleepers (dispatcher_id, until) VALUES (${dispatcherId}, now() + ${`${untilMs} milliseconds`}::interval)
    ON CONFLICT (dispatcher_id) DO UPDATE SET until = excluded.until`.execute(q);
}

/** The dispatcher has work again: producers need not notify it (each notifying commit waits on a global lock). */
export async function deregisterSleepingDispatcher(q: Queryable, dispatcherId: string): Promise<void> {
  await sql`DELETE FROM webhook_dispatcher_sleepers WHERE dispatcher_id = ${dispatcherId}`.execute(q);
}
