import { withCrossTenantTx, withTenantTx, type Db } from '../../platform/db.js';
import { AppError, notFound } from '../../platform/errors.js';
import { isId } from '../../platform/ids.js';
import { toPage } from '../../platform/http/pagination.js';
import * as repo from './events.repository.js';
import type { EventResource, ListEventsQueryType } from './events.schema.js';

export function toEventResource(row: repo.EventRow): EventResource {
  return {
    id: row.id,
    object: 'event',
    type: row.type as EventResource['type'],
    created_at: row.created_at.toISOString(),
    data: row.data as EventResource['data'],
  };
}

/** Unix seconds or RFC 3339 (the schema has checked the shape); anything that is not a real instant is a 400. */
export function parseTimeFilter(value: string, param: string): Date {
  const date = /^\d+$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new AppError('invalid_request', `'${param}' is not a valid time.`, { param });
  return date;
}

export async function listEvents(db: Db, tenantId: string, query: ListEventsQueryType) {
  const filters: repo.EventFilters = {
    type: query.type,
    createdGte: query['created[gte]'] === undefined ? undefined : parseTimeFilter(query['created[gte]'], 'created[gte]'),
    createdLte: query['created[lte]'] === undefined ? undefined : parseTimeFilter(query['created[lte]'], 'created[lte]'),
    objectId: query.object_id,
  };
  const rows = await withTenantTx(db, tenantId, (tx) => repo.listEvents(tx, tenantId, filters, query));
  return { object: 'list' as const, ...toPage(rows.map(toEventResource), query) };
}

export async function getEvent(db: Db, tenantId: string, eventId: string): Promise<EventResource> {
  const row = isId('event', eventId) ? await withTenantTx(db, tenantId, (tx) => repo.findEvent(tx, tenantId, eventId)) : undefined;
  if (!row) throw notFound('event', eventId);
  return toEventResource(row);
}

const PURGE_BATCH_SIZE = 1000;

/** Deletes one batch of events older than the retention period; returns how many went (0 = nothing left to do). */
export async function purgeExpiredEvents(db: Db, retentionDays: number, now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 60 * 60 * 1000);
  return withCrossTenantTx(db, (tx) => repo.deleteEventsCreatedBefore(tx, cutoff, PURGE_BATCH_SIZE));
}
