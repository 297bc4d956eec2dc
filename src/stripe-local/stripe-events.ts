import { insertObject, type Queryable, type StripeObject } from './stripe-local-store.js';
import { enqueueWebhook } from './work-store.js';
import { newStripeId, unixSeconds } from './stripe-ids.js';

/**
 * The event types this server emits. Each is recorded in the same transaction as the state change it reports,
 * with a snapshot of the object at that moment, and queued for the webhook endpoint in that transaction too: an
 * event is never lost between the change and its delivery, whatever crashes.
 */
export type StripeEventType =
  | 'payment_intent.created'
  | 'payment_intent.processing'
  | 'payment_intent.amount_capturable_updated'
  | 'payment_intent.succeeded'
  | 'payment_intent.payment_failed'
  | 'payment_intent.canceled'
  | 'charge.pending'
  | 'charge.succeeded'
  | 'charge.failed'
  | 'charge.captured'
  | 'charge.refunded'
  | 'charge.refund.updated'
  | 'charge.dispute.created'
  | 'refund.created'
  | 'refund.updated'
  | 'refund.failed';

/** What caused an event: the API request (id and Idempotency-Key) or nothing, for automatic changes. */
export interface EventCause {
  requestId: string | null;
  idempotencyKey: string | null;
}

export const AUTOMATIC: EventCause = { requestId: null, idempotencyKey: null };

export interface EventSink {
  apiVersion: string;
  /** Whether a webhook endpoint is configured: then each event is queued for it. */
  deliverWebhooks: boolean;
}

export async function recordEvent(
  q: Queryable,
  sink: EventSink,
  cause: EventCause,
  type: StripeEventType,
  object: StripeObject,
  previousAttributes?: Record<string, unknown>,
): Promise<StripeObject> {
  const event: StripeObject = {
    id: newStripeId('event'),
    object: 'event',
    api_version: sink.apiVersion,
    created: unixSeconds(),
    data: { object: structuredClone(object), ...(previousAttributes ? { previous_attributes: previousAttributes } : {}) },
    livemode: false,
    pending_webhooks: sink.deliverWebhooks ? 1 : 0,
    request: { id: cause.requestId, idempotency_key: cause.idempotencyKey },
    type,
  };
  await insertObject(q, 'event', event);
  if (sink.deliverWebhooks) await enqueueWebhook(q, event.id);
  return event;
}

/** The fields of `after` that differ from `before`, with their old values (Stripe's `previous_attributes`). */
export function previousAttributes(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(before)) {
    if (JSON.stringify(value) !== JSON.stringify(after[key])) out[key] = value ?? null;
  }
  return out;
}
