import { sql } from 'kysely';
import type { Tx } from '../../../platform/db.js';
import { toEventRecord, type NewEvent } from '../../events/index.js';

/**
 * Records the event and fans it out: one pending webhook delivery per enabled endpoint of the tenant subscribed
 * to its type, in one statement inside the caller's transaction, so a webhook exists exactly when the state change
 * it describes committed. Returns the event's id.
 *
 * The statement is the SQL function `record_event` (migrations/0010_payment_statements.sql), which also holds the
 * subscription rule: the payment statements call it too, recording their event and its deliveries in the same
 * single statement as the state change (no round trip of their own). `eventTypeMatches` is the same rule for the
 * API's filters; test/webhooks/subscription-rule.test.ts holds the two to agreement.
 */
export async function recordEventAndFanOut(tx: Tx, tenantId: string, event: NewEvent): Promise<string> {
  const e = toEventRecord(event);
  await sql`SELECT record_event(${tenantId}, ${e.id}, ${e.type}, ${e.objectType}, ${e.objectId}, ${e.data}::jsonb)`.execute(tx);
  return e.id;
}
