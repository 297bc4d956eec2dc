import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { signProcessorNotification } from '../modules/processors/index.js';
import { findBankDebit } from './store/sandbox-bank.repository.js';
import type { SandboxDb, SandboxTx } from './store/sandbox-db.js';
import {
  claimDueNotifications,
  nextNotificationDueAt,
  recordNotificationAttempt,
  type OutboxAttempt,
  type OutboxRow,
} from './store/sandbox-outbox.repository.js';
import { toDebitRailEvent } from './sandbox-wire.js';

export interface SandboxNotifier {
  /** An event was just written that comes due at `atMs`: push it then rather than at the next poll. */
  wakeAt(atMs: number): void;
  close(): Promise<void>;
}

export interface SandboxNotifierOptions {
  db: SandboxDb;
  url: string;
  secret: string;
  maxAttempts: number;
  retryBaseDelayMs: number;
  timeoutMs: number;
  /** Longest sleep between two looks at the outbox (events written by another replica are seen this late at most). */
  pollIntervalMs: number;
  logger: Logger;
  shouldDrop: () => boolean;
}

const BATCH_SIZE = 20;

/** Thrown inside a batch's transaction when our own shutdown cut its pushes short: roll back, leave the rows due. */
class ShutdownDuringBatch extends Error {}

/**
 * Pushes the rail events of the outbox (`notification_outbox`), signed, with bounded retries. Events outlive the
 * process: one that came due while the sandbox was down is pushed once it is back. A batch keeps its rows locked
 * while it pushes them, so another replica skips them; a replica killed mid-push loses its locks with its connection,
 * and the rows are pushed again (same event id, so the receiver can deduplicate: delivery is at least once).
 *
 * Delivery is still best effort by design: NimbusPay also polls `GET /v1/bank_debits/{id}`, so an event given up on
 * is not a lost state change.
 */
export function startSandboxNotifier(options: SandboxNotifierOptions): SandboxNotifier {
  const { db, logger } = options;
  const agent = new Agent({ connect: { timeout: options.timeoutMs } });
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAtMs = Number.POSITIVE_INFINITY;
  let running: Promise<void> | undefined;
  let rerun = false;
  let failing = false;

  async function attemptPush(rawBody: string): Promise<{ ok: boolean; detail: string }> {
    try {
      const res = await request(options.url, {
        dispatcher: agent,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'processor-signature': signProcessorNotification(options.secret, rawBody, Math.floor(Date.now() / 1000)),
        },
        body: rawBody,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      await res.body.dump();
      return { ok: res.statusCode >= 200 && res.statusCode < 300, detail: `status ${res.statusCode}` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  /** Decides the row's fate; the only I/O outside the transaction's connection is the push itself. */
  async function attempt(tx: SandboxTx, row: OutboxRow): Promise<OutboxAttempt> {
    // As before the outbox, the drop knob is read when the event comes due; retries of a pushed event go on.
    if (row.attempts === 0 && options.shouldDrop()) return { state: 'dropped', attempts: 0, rawBody: null };
    let rawBody = row.rawBody;
    if (rawBody === null) {
      const debit = await findBankDebit(tx, row.debitId);
      if (!debit) return { state: 'given_up', attempts: row.attempts, rawBody: null, lastError: 'debit not found' };
      const event = toDebitRailEvent(debit, row.eventAtMs);
      // One body per event: retries (and re-pushes after a crash) resend it, so the receiver sees one event.
      rawBody = JSON.stringify({ id: row.eventId, type: event.type, created: Math.floor(Date.now() / 1000), data: event.data });
    }
    return { state: 'pending', attempts: row.attempts, rawBody };
  }

  async function pushBatch(): Promise<number> {
    return db.transaction().execute(async (tx) => {
      const rows = await claimDueNotifications(tx, Date.now(), BATCH_SIZE);
      const decided: Array<{ row: OutboxRow; next: OutboxAttempt }> = [];
      for (const row of rows) decided.push({ row, next: await attempt(tx, row) });
      const results = await Promise.all(
        decided.map(({ next }) => (next.state === 'pending' && next.rawBody !== null ? attemptPush(next.rawBody) : undefined)),
      );
      if (closed) throw new ShutdownDuringBatch();
      const nowMs = Date.now();
      for (const [i, { row, next }] of decided.entries()) {
        const pushed = results[i];
        let final: OutboxAttempt = next;
        if (pushed && next.rawBody !== null) { // pushed only when there was a body
          const attempts = next.attempts + 1;
          const type = JSON.parse(next.rawBody).type as string;
          if (pushed.ok) {
            final = { ...next, state: 'sent', attempts };
          } else if (attempts >= options.maxAttempts) {
            logger.warn({ eventId: row.eventId, type, attempt: attempts, detail: pushed.detail }, 'sandbox notification given up');
            final = { ...next, state: 'given_up', attempts, lastError: pushed.detail };
          } else {
            logger.info({ eventId: row.eventId, type, attempt: attempts, detail: pushed.detail }, 'sandbox notification failed, will retry');
            const dueAtMs = nowMs + options.retryBaseDelayMs * 2 ** (attempts - 1);
            final = { ...next, attempts, dueAtMs, lastError: pushed.detail };
          }
        }
        await recordNotificationAttempt(tx, row.id, final, nowMs);
      }
      return rows.length;
    });
  }

  async function pass(): Promise<void> {
    let nextDueMs: number | undefined;
    try {
      while ((await pushBatch()) === BATCH_SIZE && !closed);
      nextDueMs = await nextNotificationDueAt(db);
      if (failing) logger.info('sandbox notification outbox reachable again');
      failing = false;
    } catch (err) {
      if (err instanceof ShutdownDuringBatch || closed) return;
      // PostgreSQL away: the events wait in the table; look again at the next poll.
      if (!failing) logger.warn({ err: { message: (err as Error).message } }, 'sandbox notification outbox unavailable');
      failing = true;
    }
    const pollAtMs = Date.now() + options.pollIntervalMs;
    arm(nextDueMs !== undefined ? Math.min(nextDueMs, pollAtMs) : pollAtMs);
  }

  function fire(): void {
    timer = undefined;
    timerAtMs = Number.POSITIVE_INFINITY;
    if (closed) return;
    if (running) {
      rerun = true;
      return;
    }
    running = pass().finally(() => {
      running = undefined;
      if (rerun) {
        rerun = false;
        arm(Date.now());
      }
    });
  }

  function arm(atMs: number): void {
    if (closed || atMs >= timerAtMs) return;
    if (timer) clearTimeout(timer);
    timerAtMs = atMs;
    timer = setTimeout(fire, Math.max(0, atMs - Date.now()));
  }

  arm(Date.now()); // events that came due while no sandbox was running go out now
  return {
    wakeAt: arm,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      // In-flight pushes fail at once; their batch rolls back and leaves the rows for the next sandbox.
      await agent.destroy();
      await running;
    },
  };
}
