import { Type, type Static } from '@sinclair/typebox';
import { EVENT_TYPE_FILTERS } from './event-types.js';
import { EventSchema } from './events.schema.js';
import { EVENT_EXAMPLE } from './events-doc.schema.js';

/** The cursor that means "from the first event the feed holds" (an event id no event can have). */
export const FEED_START_CURSOR = 'evt_00000000000000000000000000';
/** The longest a feed request waits for an event: under every proxy's idle timeout (the ALB's is 60 s). */
export const MAX_FEED_WAIT_SECONDS = 25;

export const EventFeedQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({
      pattern: '^evt_[0-9a-z]{26}$',
      description: `Where to resume: the \`next_cursor\` of the previous answer (an event id; \`${FEED_START_CURSOR}\` = from the oldest event the feed holds). `
        + 'Without it the feed starts at its current end: only events recorded from now on.',
      examples: ['evt_01jq8x4m3c0000000000000000'],
    })),
    wait: Type.Integer({
      minimum: 0, maximum: MAX_FEED_WAIT_SECONDS, default: 0,
      description: `Seconds to wait for an event when none is there yet (long poll, 0–${MAX_FEED_WAIT_SECONDS}). The answer comes as soon as one is.`,
    }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 100, description: 'Most events in one answer (1–100).' }),
    type: Type.Optional(Type.Union(EVENT_TYPE_FILTERS.map((t) => Type.Literal(t)), { description: 'Only events of this type, `payment.*`, `refund.*` or `*`.' })),
  },
  { additionalProperties: false },
);
export type EventFeedQueryType = Static<typeof EventFeedQuery>;

export const EventFeedSchema = Type.Object({
  object: Type.Literal('event_feed'),
  data: Type.Array(EventSchema, { description: 'Events in the order they were committed, oldest first.' }),
  has_more: Type.Boolean({ description: 'More events are there already: ask again at once with `next_cursor`.' }),
  next_cursor: Type.String({ description: 'Pass it as `cursor` in the next request; it moves past events the `type` filter skipped too.' }),
}, {
  $id: 'EventFeed',
  description: 'A batch of the event feed: events committed after the cursor, oldest first.',
  examples: [{ object: 'event_feed', data: [EVENT_EXAMPLE], has_more: false, next_cursor: EVENT_EXAMPLE.id }],
});
export type EventFeedResource = Static<typeof EventFeedSchema>;
