import { newId } from '../../platform/ids.js';
import { isEventType, type EventType } from './event-types.js';

export interface NewEvent {
  type: string;
  objectType: string;
  objectId: string;
  /** The resource as the API shows it at this commit (`data.object` of the event). */
  object: Record<string, unknown>;
}

/** An event ready to be written: a checked type, its id, and its `data` as the JSON the events table stores. */
export interface EventRecord {
  id: string;
  type: EventType;
  objectType: string;
  objectId: string;
  data: string;
}

/**
 * What an event row will hold. The events module owns the event's shape; whoever writes it (the webhooks module's
 * fan-out, in the caller's transaction) writes this.
 */
export function toEventRecord(event: NewEvent): EventRecord {
  // An unknown type would be stored but match no subscription and no API filter: fail the transaction instead.
  if (!isEventType(event.type)) throw new Error(`unknown event type '${event.type}'`);
  return {
    id: newId('event'),
    type: event.type,
    objectType: event.objectType,
    objectId: event.objectId,
    data: JSON.stringify({ object: event.object }, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)),
  };
}
