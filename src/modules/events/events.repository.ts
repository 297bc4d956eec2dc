import { sql } from 'kysely';
import type { Tx } from '../../platform/db.js';
import { newId } from '../../platform/ids.js';

export interface NewEvent {
  type: string;
  objectType: string;
  objectId: string;
  /** The resource as the API shows it at this commit (`data.object` of the event). */
  object: Record<string, unknown>;
}

/**
 * Inserts the event and one pending webhook delivery per enabled endpoint of the tenant subscribed to its type
 * (exact type, `<prefix>.*` or `*`), in one statement, inside the caller's transaction: a webhook exists exactly
 * when the state change it describes committed.
 */
export async function insertEventWithDeliveries(tx: Tx, tenantId: string, event: NewEvent): Promise<string> {
  const id = newId('event');
  const wildcard = `${event.type.split('.')[0]}.*`;
  const data = JSON.stringify({ object: event.object }, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  await sql`
    WITH inserted AS (
      INSERT INTO events (id, tenant_id, type, object_type, object_id, data)
      VALUES (${id}, ${tenantId}, ${event.type}, ${event.objectType}, ${event.objectId}, ${data}::jsonb)
      RETURNING id, tenant_id, created_at
    )
    INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, next_attempt_at)
    SELECT new_prefixed_id('whd'), inserted.tenant_id, e.id, inserted.id, 'pending', inserted.created_at
    FROM inserted
    JOIN webhook_endpoints e ON e.tenant_id = inserted.tenant_id
    WHERE e.status = 'enabled' AND e.enabled_events && ARRAY[${event.type}, ${wildcard}, '*']::text[]
  `.execute(tx);
  return id;
}
