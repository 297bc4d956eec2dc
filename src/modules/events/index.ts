import type { Config } from '../../platform/config.js';
import type { Db } from '../../platform/db.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import { purgeExpiredEvents } from './events.service.js';

export { toEventRecord, type NewEvent } from './event-record.js';
export {
  EVENT_TYPES, EVENT_TYPE_FILTERS, eventTypeMatches, isEventType, isEventTypeFilter, type EventType, type EventTypeFilter,
} from './event-types.js';
export { EventSchema, EventTypeFilterSchema, EventTypeSchema, MAX_TIME_FILTER_SECONDS, TimeFilterSchema, type EventResource } from './events.schema.js';
export { parseTimeFilter, purgeExpiredEvents, toEventResource } from './events.service.js';
export { registerEventRoutes } from './events.routes.js';
export { registerEventFeedRoute } from './event-feed.routes.js';
export { createEventFeed, EVENT_FEED_DEFAULTS, type EventFeed, type EventFeedOptions } from './event-feed.service.js';
export { EventFeedSchema, FEED_START_CURSOR, MAX_FEED_WAIT_SECONDS } from './event-feed.schema.js';

const PURGE_IDLE_DELAY_MS = 60_000;

/** Worker job: events older than EVENT_RETENTION_DAYS go (with their deliveries), in batches. */
export function eventPurgeJob(deps: { db: Db; config: Config }): WorkerJob {
  return {
    name: 'event-purge',
    idleDelayMs: PURGE_IDLE_DELAY_MS,
    runOnce: () => purgeExpiredEvents(deps.db, deps.config.eventRetentionDays),
  };
}
