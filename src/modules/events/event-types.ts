/**
 * The closed list of event types. Payments and refunds record these; webhook endpoints subscribe to them, to a
 * `<prefix>.*` wildcard or to `*`. A type outside this list is a bug, so recording one throws.
 */
export const EVENT_TYPES = [
  'payment.processing',
  'payment.requires_capture',
  'payment.succeeded',
  'payment.failed',
  'payment.canceled',
  'payment.reversed',
  /** A change that is not a status change (bank transfers: submitted to the rail). */
  'payment.updated',
  'refund.succeeded',
  'refund.failed',
  'webhook_endpoint.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What an endpoint may subscribe to and what the events API filters by: every type, plus the wildcards. */
export const EVENT_TYPE_FILTERS = [...EVENT_TYPES, 'payment.*', 'refund.*', '*'] as const;
export type EventTypeFilter = (typeof EVENT_TYPE_FILTERS)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

export function isEventTypeFilter(value: string): value is EventTypeFilter {
  return (EVENT_TYPE_FILTERS as readonly string[]).includes(value);
}

/**
 * True when an event of `type` matches the subscription/filter `filter` (exact, `<prefix>.*` or `*`): the rule of
 * every API filter (events list, event feed, replay). The webhook fan-out applies the same rule in SQL
 * (`record_event`, which the payment statements call); test/webhooks/subscription-rule.test.ts checks the two agree
 * on every filter and type.
 */
export function eventTypeMatches(filter: string, type: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) return type.startsWith(filter.slice(0, -1));
  return filter === type;
}

/** The event types a filter matches, for queries that filter by type in SQL. */
export function eventTypesMatching(filter: string): EventType[] {
  return EVENT_TYPES.filter((type) => eventTypeMatches(filter, type));
}
