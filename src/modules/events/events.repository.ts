import { sql, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import type { EventsTable } from '../../platform/db-schema.js';
import { pageWindow, type PageQuery } from '../../platform/pagination.js';
import { eventTypesMatching } from './event-types.js';

export type EventRow = Selectable<EventsTable>;

export interface EventFilters {
  /** exact type, `<prefix>.*` or `*` */
  type?: string | undefined;
  createdGte?: Date | undefined;
  createdLte?: Date | undefined;
  objectId?: string | undefined;
}

export async function listEvents(q: Queryable, tenantId: string, filters: EventFilters, page: PageQuery): Promise<EventRow[]> {
  const w = pageWindow(page);
  let query = q.selectFrom('events').selectAll().where('tenant_id', '=', tenantId);
  // `*` filters nothing; any other filter is the list of types it matches by the one rule (eventTypeMatches)
  if (filters.type !== undefined && filters.type !== '*') {
    const types = eventTypesMatching(filters.type);
    if (types.length === 0) return [];
    query = query.where('type', 'in', types);
  }
  const { createdGte, createdLte, objectId } = filters;
  const { cursor } = w;
  return query
    .$call((qb) => (createdGte === undefined ? qb : qb.where('created_at', '>=', createdGte)))
    .$call((qb) => (createdLte === undefined ? qb : qb.where('created_at', '<=', createdLte)))
    .$call((qb) => (objectId === undefined ? qb : qb.where('object_id', '=', objectId)))
    .$call((qb) => (cursor === undefined ? qb : qb.where('id', w.op, cursor)))
    .orderBy('id', w.order)
    .limit(w.take)
    .execute();
}

export async function findEvent(q: Queryable, tenantId: string, eventId: string): Promise<EventRow | undefined> {
  return q.selectFrom('events').selectAll().where('tenant_id', '=', tenantId).where('id', '=', eventId).executeTakeFirst();
}

/**
 * Cross-tenant housekeeping: deletes up to `batchSize` events created before `cutoff` (their deliveries and
 * attempts go with them, ON DELETE CASCADE). Batches keep each transaction and its locks short.
 */
export async function deleteEventsCreatedBefore(tx: Tx, cutoff: Date, batchSize: number): Promise<number> {
  const result = await sql`
    DELETE FROM events WHERE id IN (
      SELECT id FROM events WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
    )
  `.execute(tx);
  return Number(result.numAffectedRows ?? 0n);
}
