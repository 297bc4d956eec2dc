import { sql, type Selectable } from 'kysely';
import type { Queryable, Tx } from '../../platform/db.js';
import type { EventsTable } from '../../platform/db-schema.js';
import { newId } from '../../platform/ids.js';
import { pageWindow, type PageQuery } from '../../platform/pagination.js';
import { isEventType } from './event-types.js';

export type EventRow = Selectable<EventsTable>;

export interface NewEvent {
  type: string;
  objectType: string;
  objectId: string;
  /** The resource as the API shows it at this commit (`data.object` of the event). */
  object: Record<string, unknown>;
}

/**
 * Inserts the event and one pending webhook delivery per enabled endpoint of the tenant subscribed to its type, in
 * one statement inside the caller's transaction: a webhook exists exactly when the state change it describes
 * committed. The subscription rule lives in SQL (`record_event`), which the payment functions call too.
 */
export async function insertEventWithDeliveries(tx: Tx, tenantId: string, event: NewEvent): Promise<string> {
  // An unknown type would be stored but match no subscription and no API filter: fail the transaction instead.
  if (!isEventType(event.type)) throw new Error(`unknown event type '${event.type}'`);
  const id = newId('event');
  const data = JSON.stringify({ object: event.object }, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  await sql`SELECT record_event(${tenantId}, ${id}, ${event.type}, ${event.objectType}, ${event.objectId}, ${data}::jsonb)`.execute(tx);
  return id;
}

export interface EventFilters {
  /** exact type, `<prefix>.*` or `*` */
  type?: string | undefined;
  createdGte?: Date | undefined;
  createdLte?: Date | undefined;
  objectId?: string | undefined;
}

export async function listEvents(q: Queryable, tenantId: string, filters: EventFilters, page: PageQuery): Promise<EventRow[]> {
  const w = pageWindow(page);
  const type = filters.type;
  return q
    .selectFrom('events')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(type !== undefined && type !== '*', (qb) =>
      type!.endsWith('.*') ? qb.where('type', 'like', `${type!.slice(0, -1)}%`) : qb.where('type', '=', type!),
    )
    .$if(filters.createdGte !== undefined, (qb) => qb.where('created_at', '>=', filters.createdGte!))
    .$if(filters.createdLte !== undefined, (qb) => qb.where('created_at', '<=', filters.createdLte!))
    .$if(filters.objectId !== undefined, (qb) => qb.where('object_id', '=', filters.objectId!))
    .$if(w.cursor !== undefined, (qb) => qb.where('id', w.op, w.cursor!))
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
