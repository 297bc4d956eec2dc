import { withTenantTx, type Db, type Tx } from '../../../platform/db.js';
import { AppError, notFound } from '../../../platform/errors.js';
import { isId } from '../../../platform/ids.js';
import { toPage } from '../../../platform/pagination.js';
import { EVENT_TYPES, eventTypeMatches, parseTimeFilter } from '../../events/index.js';
import * as endpointsRepo from '../endpoints/endpoints.repository.js';
import { endpointNotFound } from '../endpoints/endpoints.service.js';
import type { ReplayInput } from '../endpoints/endpoints.schema.js';
import * as repo from './deliveries.repository.js';
import type { ListDeliveriesQueryType, WebhookDeliveryResource } from './deliveries.schema.js';

/** One replay may queue this many deliveries; a wider window is refused rather than flooding the endpoint. */
export const MAX_REPLAY_EVENTS = 10_000;

export function toDeliveryResource(row: repo.DeliveryRow, attempts: repo.AttemptRow[]): WebhookDeliveryResource {
  return {
    id: row.id,
    object: 'webhook_delivery',
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempt_count: row.attempt_count,
    next_attempt_at: row.next_attempt_at?.toISOString() ?? null,
    delivered_at: row.delivered_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    attempts: attempts.map((a) => ({
      attempted_at: a.attempted_at.toISOString(),
      outcome: a.outcome,
      status_code: a.status_code,
      latency_ms: a.latency_ms,
      error: a.error,
      response_body: a.response_body,
    })),
  };
}

function withAttempts(rows: repo.DeliveryRow[], attempts: repo.AttemptRow[]): WebhookDeliveryResource[] {
  const byDelivery = new Map<string, repo.AttemptRow[]>();
  for (const a of attempts) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
  return rows.map((r) => toDeliveryResource(r, byDelivery.get(r.id) ?? []));
}

export async function listEndpointDeliveries(db: Db, tenantId: string, endpointId: string, query: ListDeliveriesQueryType) {
  if (!isId('webhookEndpoint', endpointId)) throw endpointNotFound(endpointId);
  const data = await withTenantTx(db, tenantId, async (tx) => {
    if (!(await endpointsRepo.findEndpoint(tx, tenantId, endpointId))) throw endpointNotFound(endpointId);
    const rows = await repo.listEndpointDeliveries(tx, tenantId, endpointId, { status: query.status }, query);
    return withAttempts(rows, await repo.listAttempts(tx, tenantId, rows.map((r) => r.id)));
  });
  return { object: 'list' as const, ...toPage(data, query) };
}

/**
 * Queues one more attempt now. A delivery being sent right now (lease running) is refused: retrying it would
 * send it twice at once. Deliveries of a disabled endpoint cannot be retried until it is enabled again.
 */
export async function retryDelivery(db: Db, tenantId: string, deliveryId: string): Promise<WebhookDeliveryResource> {
  if (!isId('webhookDelivery', deliveryId)) throw notFound('webhook_delivery', deliveryId);
  return withTenantTx(db, tenantId, (tx) => retryDeliveryInTx(tx, tenantId, deliveryId));
}

/** `retryDelivery` in the caller's transaction (support records its audit entry in the same one). */
export async function retryDeliveryInTx(tx: Tx, tenantId: string, deliveryId: string): Promise<WebhookDeliveryResource> {
  const delivery = await repo.lockDelivery(tx, tenantId, deliveryId);
  if (!delivery) throw notFound('webhook_delivery', deliveryId);
  const endpoint = await endpointsRepo.findEndpoint(tx, tenantId, delivery.endpoint_id);
  if (endpoint?.status !== 'enabled') throw new AppError('invalid_state', 'The webhook endpoint of this delivery is disabled; enable it first.');
  if (delivery.status === 'pending' && delivery.locked_until && delivery.locked_until > new Date()) {
    throw new AppError('invalid_state', 'This delivery is being attempted right now.');
  }
  await repo.requeueDelivery(tx, tenantId, deliveryId);
  const row = await repo.findDelivery(tx, tenantId, deliveryId);
  if (!row) throw new Error(`webhook delivery ${deliveryId} locked and requeued in this transaction is gone (or its event is)`);
  return toDeliveryResource(row, await repo.listAttempts(tx, tenantId, [deliveryId]));
}

/**
 * Re-sends the tenant's events created in the window, of the requested types that the endpoint subscribes to,
 * as new deliveries. They carry the original event id as webhook-id: a receiver that already processed an
 * event recognizes it, one that missed it gets it.
 */
export async function replayEvents(db: Db, tenantId: string, endpointId: string, input: ReplayInput) {
  if (!isId('webhookEndpoint', endpointId)) throw endpointNotFound(endpointId);
  const gte = parseTimeFilter(input.created_gte, 'created_gte');
  const lte = parseTimeFilter(input.created_lte, 'created_lte');
  if (gte > lte) throw new AppError('parameter_out_of_range', 'created_gte must not be after created_lte: swap them or widen the window.', { param: 'created_gte' });
  return withTenantTx(db, tenantId, (tx) => replayEventsInTx(tx, tenantId, endpointId, { gte, lte, types: input.types }));
}

/** `replayEvents` with parsed times, in the caller's transaction (support records its audit entry in the same one). */
export async function replayEventsInTx(tx: Tx, tenantId: string, endpointId: string, input: { gte: Date; lte: Date; types?: string[] | undefined }) {
  const { gte, lte } = input;
  const endpoint = await endpointsRepo.lockEndpoint(tx, tenantId, endpointId);
  if (!endpoint) throw endpointNotFound(endpointId);
  if (endpoint.status !== 'enabled') throw new AppError('invalid_state', 'The webhook endpoint is disabled; enable it first.');
  const types = EVENT_TYPES.filter(
    (t) => endpoint.enabled_events.some((f) => eventTypeMatches(f, t)) && (input.types ?? ['*']).some((f) => eventTypeMatches(f, t)),
  );
  if (types.length === 0) return { object: 'webhook_replay' as const, endpoint_id: endpointId, deliveries_created: 0 };
  const count = await repo.countEventsForReplay(tx, tenantId, types, gte, lte);
  if (count > MAX_REPLAY_EVENTS) {
    throw new AppError('parameter_out_of_range', `The window holds ${count} events; replay at most ${MAX_REPLAY_EVENTS} at a time: narrow created_gte…created_lte (or filter by types).`, { param: 'created_gte' });
  }
  const created = await repo.insertReplayDeliveries(tx, tenantId, endpointId, types, gte, lte);
  return { object: 'webhook_replay' as const, endpoint_id: endpointId, deliveries_created: created };
}
