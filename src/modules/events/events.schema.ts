import { Type, type Static } from '@sinclair/typebox';
import { EVENT_TYPE_FILTERS, EVENT_TYPES } from './event-types.js';

export const EventTypeSchema = Type.Union(EVENT_TYPES.map((t) => Type.Literal(t)));
export const EventTypeFilterSchema = Type.Union(EVENT_TYPE_FILTERS.map((t) => Type.Literal(t)));

export const EventSchema = Type.Object({
  id: Type.String({ examples: ['evt_01jq8x4m3c0000000000000000'] }),
  object: Type.Literal('event'),
  type: EventTypeSchema,
  created_at: Type.String({ format: 'date-time' }),
  data: Type.Object({
    object: Type.Record(Type.String(), Type.Unknown(), { description: 'The resource as the API showed it when the event was recorded.' }),
  }),
});
export type EventResource = Static<typeof EventSchema>;

/** 9999-12-31T23:59:59Z: the last instant an RFC 3339 time can name, and far inside what JavaScript and PostgreSQL hold. */
export const MAX_TIME_FILTER_SECONDS = 253_402_300_799;

/**
 * A point in time in a query string or body: unix seconds (as Stripe uses) or an RFC 3339 date-time.
 * Both are accepted so that a value copied from `created_at` works as it is.
 */
export const TimeFilterSchema = Type.String({
  maxLength: 40,
  pattern: '^(\\d{1,12}|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2}))$',
  description: `Unix seconds (e.g. 1735689600, at most ${MAX_TIME_FILTER_SECONDS}) or an RFC 3339 date-time (e.g. 2025-01-01T00:00:00Z) from 1970 to the end of 9999.`,
});

export const ListEventsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Number of objects to return (1–100).' }),
    starting_after: Type.Optional(Type.String({ maxLength: 64, description: 'Event id: return events created before it.' })),
    ending_before: Type.Optional(Type.String({ maxLength: 64, description: 'Event id: return events created after it.' })),
    type: Type.Optional(Type.Union(EVENT_TYPE_FILTERS.map((t) => Type.Literal(t)), { description: 'An event type, `payment.*`, `refund.*` or `*`.' })),
    'created[gte]': Type.Optional(TimeFilterSchema),
    'created[lte]': Type.Optional(TimeFilterSchema),
    object_id: Type.Optional(Type.String({ maxLength: 64, description: 'Events about this object (e.g. a payment id).' })),
  },
  { additionalProperties: false },
);
export type ListEventsQueryType = Static<typeof ListEventsQuery>;

export const EventIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
