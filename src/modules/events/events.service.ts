import { withCrossTenantTx, withTenantTx, type Db } from '../../platform/db.js';
import { AppError, notFound } from '../../platform/errors.js';
import { isId } from '../../platform/ids.js';
import { toPage } from '../../platform/pagination.js';
import * as repo from './events.repository.js';
import { MAX_TIME_FILTER_SECONDS, type EventResource, type ListEventsQueryType } from './events.schema.js';

export function toEventResource(row: repo.EventRow): EventResource {
  return {
    id: row.id,
    object: 'event',
    type: row.type as EventResource['type'],
    created_at: row.created_at.toISOString(),
    data: row.data as EventResource['data'],
  };
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** Every field in range, and a day the month has: `new Date` would quietly roll 2025-02-30 over to March 2nd. */
function isRealDateTime(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  // a group that did not take part (the offset of a `Z` date-time) counts as 0
  const group = (index: number): number => {
    const v = m[index];
    return v === undefined ? 0 : Number(v);
  };
  const [year, month, day, hour, minute, second, offH, offM] = [group(1), group(2), group(3), group(4), group(5), group(6), group(7), group(8)];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && offH <= 23 && offM <= 59;
}

/**
 * Unix seconds or RFC 3339 (the schema has checked the shape). Anything that is not a real instant between 1970 and
 * the end of year 9999 is a 400 naming the parameter: an out-of-range number would otherwise become an invalid date,
 * or one PostgreSQL cannot hold, on its way into SQL.
 */
export function parseTimeFilter(value: string, param: string): Date {
  const invalid = () => new AppError('parameter_invalid_format', `'${param}' is not a valid time: use unix seconds (0 to ${MAX_TIME_FILTER_SECONDS}) or an RFC 3339 date-time.`, { param });
  let date: Date;
  if (/^\d+$/.test(value)) {
    const seconds = Number(value);
    if (!Number.isSafeInteger(seconds) || seconds > MAX_TIME_FILTER_SECONDS) throw invalid();
    date = new Date(seconds * 1000);
  } else {
    if (!isRealDateTime(value)) throw invalid();
    date = new Date(value);
  }
  const ms = date.getTime();
  if (Number.isNaN(ms) || ms < 0 || ms > MAX_TIME_FILTER_SECONDS * 1000 + 999) throw invalid();
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
