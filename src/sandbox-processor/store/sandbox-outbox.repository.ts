import type { OutboxState, SandboxQueryable, SandboxTx } from './sandbox-db.js';

export interface OutboxRow {
  id: number;
  eventId: string;
  debitId: string;
  eventAtMs: number;
  attempts: number;
  rawBody: string | null;
}

/** The rail events of a new debit, written in the debit's own transaction: no debit without its events. */
export async function insertDebitNotifications(
  tx: SandboxTx,
  events: ReadonlyArray<{ eventId: string; debitId: string; eventAtMs: number }>,
  nowMs: number,
): Promise<void> {
  if (events.length === 0) return;
  await tx
    .insertInto('notification_outbox')
    .values(
      events.map((e) => ({
        event_id: e.eventId,
        debit_id: e.debitId,
        event_at: new Date(e.eventAtMs),
        due_at: new Date(e.eventAtMs),
        updated_at: new Date(nowMs),
      })),
    )
    .execute();
}

/**
 * Due events, locked until the caller's transaction ends. SKIP LOCKED: another replica pushing some events right now
 * keeps them, and this one takes the rest, so no event is pushed by two replicas at once.
 */
export async function claimDueNotifications(tx: SandboxTx, nowMs: number, limit: number): Promise<OutboxRow[]> {
  const rows = await tx
    .selectFrom('notification_outbox')
    .select(['id', 'event_id', 'debit_id', 'event_at', 'attempts', 'raw_body'])
    .where('state', '=', 'pending')
    .where('due_at', '<=', new Date(nowMs))
    .orderBy('due_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    debitId: r.debit_id,
    eventAtMs: r.event_at.getTime(),
    attempts: r.attempts,
    rawBody: r.raw_body,
  }));
}

export interface OutboxAttempt {
  state: OutboxState;
  attempts: number;
  rawBody: string | null;
  /** The next attempt's instant, for a `pending` row. */
  dueAtMs?: number;
  lastError?: string;
}

export async function recordNotificationAttempt(tx: SandboxTx, id: number, attempt: OutboxAttempt, nowMs: number): Promise<void> {
  await tx
    .updateTable('notification_outbox')
    .set({
      state: attempt.state,
      attempts: attempt.attempts,
      raw_body: attempt.rawBody,
      last_error: attempt.lastError ?? null,
      updated_at: new Date(nowMs),
      ...(attempt.dueAtMs !== undefined ? { due_at: new Date(attempt.dueAtMs) } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** When the earliest pending event comes due (undefined: nothing pending). */
export async function nextNotificationDueAt(q: SandboxQueryable): Promise<number | undefined> {
  const row = await q
    .selectFrom('notification_outbox')
    .select((eb) => eb.fn.min('due_at').as('due'))
    .where('state', '=', 'pending')
    .executeTakeFirst();
  const due = row?.due as Date | null | undefined;
  return due ? due.getTime() : undefined;
}
