import { withTenantTx, type Db } from '../../platform/db.js';
import { AppError } from '../../platform/errors.js';
import { eventTypeMatches } from './event-types.js';
import * as repo from './event-feed.repository.js';
import { FEED_START_CURSOR, type EventFeedQueryType, type EventFeedResource } from './event-feed.schema.js';
import { toEventResource } from './events.service.js';

export interface EventFeedOptions {
  /** How often a waiting request looks for new events (one short query each time; no connection held between). */
  pollIntervalMs: number;
  /** Waiting requests one tenant may have open at once; more are answered 429. */
  maxWaitingPerTenant: number;
}

export const EVENT_FEED_DEFAULTS: EventFeedOptions = { pollIntervalMs: 500, maxWaitingPerTenant: 5 };

const START: repo.FeedPosition = { xactId: '0', id: '' };

export interface EventFeed {
  read(tenantId: string, query: EventFeedQueryType, signal: AbortSignal): Promise<EventFeedResource>;
  /** Waiting requests answer now with what they have (server shutdown); new ones do not wait. */
  close(): void;
}

export function createEventFeed(db: Db, options: EventFeedOptions = EVENT_FEED_DEFAULTS): EventFeed {
  const waiting = new Map<string, number>();
  const closing = new AbortController();

  async function startPosition(tenantId: string, cursor: string | undefined): Promise<repo.FeedPosition> {
    if (cursor === FEED_START_CURSOR) return START;
    if (cursor === undefined) return (await withTenantTx(db, tenantId, (tx) => repo.findFeedEnd(tx, tenantId))) ?? START;
    const position = await withTenantTx(db, tenantId, (tx) => repo.findFeedPosition(tx, tenantId, cursor));
    // Another tenant's event is as unknown as a purged one.
    if (!position) throw new AppError('resource_not_found', `No such event in the feed: '${cursor}' (it may have expired; resume without a cursor).`, { param: 'cursor' });
    return position;
  }

  function acquire(tenantId: string): () => void {
    const n = waiting.get(tenantId) ?? 0;
    if (n >= options.maxWaitingPerTenant) {
      throw new AppError('rate_limited', `At most ${options.maxWaitingPerTenant} event feed requests may wait at once per tenant.`, { headers: { 'retry-after': '1' } });
    }
    waiting.set(tenantId, n + 1);
    return () => {
      const left = (waiting.get(tenantId) ?? 1) - 1;
      if (left === 0) waiting.delete(tenantId);
      else waiting.set(tenantId, left);
    };
  }

  return {
    async read(tenantId, query, signal) {
      let position = await startPosition(tenantId, query.cursor);
      const release = query.wait > 0 ? acquire(tenantId) : () => {};
      const stop = AbortSignal.any([signal, closing.signal]);
      const deadline = Date.now() + query.wait * 1000;
      try {
        for (;;) {
          const rows = await withTenantTx(db, tenantId, (tx) => repo.listFeedEventsAfter(tx, tenantId, position, query.limit + 1));
          const page = rows.slice(0, query.limit);
          const last = page[page.length - 1];
          if (last) position = { xactId: last.xact, id: last.id };
          const data = page.filter((row) => query.type === undefined || eventTypeMatches(query.type, row.type)).map(toEventResource);
          const hasMore = rows.length > query.limit;
          // Events the filter skipped still move the cursor, so a busy tenant does not rescan them.
          if (data.length > 0 || hasMore || Date.now() >= deadline || stop.aborted) {
            return { object: 'event_feed', data, has_more: hasMore, next_cursor: position.id || FEED_START_CURSOR };
          }
          await sleep(Math.min(options.pollIntervalMs, deadline - Date.now()), stop);
        }
      } finally {
        release();
      }
    },
    close() {
      closing.abort();
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
