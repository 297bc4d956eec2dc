import { sql } from 'kysely';
import type { Queryable } from '../../platform/db.js';
import type { EventRow } from './events.repository.js';

/** A place in the feed: every event ordered at or before (xactId, id) has been handed out. */
export interface FeedPosition {
  /** the transaction id (xid8) as a decimal string */
  xactId: string;
  id: string;
}

export type FeedRow = EventRow & { xact: string };

/**
 * The tenant's events after `after`, in commit order, among those of transactions older than the oldest still
 * running: no event can appear before the last one returned any more (migration 0012 explains the order).
 */
export async function listFeedEventsAfter(q: Queryable, tenantId: string, after: FeedPosition, limit: number): Promise<FeedRow[]> {
  const result = await sql<FeedRow>`
    SELECT e.*, e.xact_id::text AS xact FROM events e
     WHERE e.tenant_id = ${tenantId} AND e.xact_id IS NOT NULL
       AND (e.xact_id, e.id) > (${after.xactId}::xid8, ${after.id})
       AND e.xact_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.xact_id, e.id
     LIMIT ${limit}`.execute(q);
  return result.rows;
}

/** The feed's current end for the tenant: its last event that no running transaction can precede. */
export async function findFeedEnd(q: Queryable, tenantId: string): Promise<FeedPosition | undefined> {
  const result = await sql<{ xact: string; id: string }>`
    SELECT e.xact_id::text AS xact, e.id FROM events e
     WHERE e.tenant_id = ${tenantId} AND e.xact_id IS NOT NULL
       AND e.xact_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.xact_id DESC, e.id DESC
     LIMIT 1`.execute(q);
  const row = result.rows[0];
  return row ? { xactId: row.xact, id: row.id } : undefined;
}

export async function findFeedPosition(q: Queryable, tenantId: string, eventId: string): Promise<FeedPosition | undefined> {
  const result = await sql<{ xact: string }>`
    SELECT xact_id::text AS xact FROM events WHERE tenant_id = ${tenantId} AND id = ${eventId} AND xact_id IS NOT NULL`.execute(q);
  const row = result.rows[0];
  return row ? { xactId: row.xact, id: eventId } : undefined;
}
