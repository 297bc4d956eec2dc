import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { signProcessorNotification } from '../modules/processors/index.js';
import { newSandboxId } from './sandbox-store.js';

export type RailEventType = 'bank_debit.settled' | 'bank_debit.returned';

export interface RailEvent {
  type: RailEventType;
  data: Record<string, unknown>;
}

export interface SandboxNotifier {
  /** Builds the event when `atMs` arrives (so its data reflects the state at that instant) and pushes it. */
  scheduleAt(atMs: number, buildEvent: () => RailEvent): void;
  close(): Promise<void>;
}

export interface SandboxNotifierOptions {
  url: string;
  secret: string;
  maxAttempts: number;
  retryBaseDelayMs: number;
  timeoutMs: number;
  logger: Logger;
  shouldDrop: () => boolean;
}

/**
 * Pushes signed rail events with bounded retries. Delivery is best effort by design: NimbusPay also polls
 * `GET /v1/bank_debits/{id}`, so an event given up on is not a lost state change.
 */
export function createSandboxNotifier(options: SandboxNotifierOptions): SandboxNotifier {
  const agent = new Agent({ connect: { timeout: options.timeoutMs } });
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  function later(delayMs: number, fn: () => void): void {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, Math.max(0, delayMs));
    timer.unref();
    timers.add(timer);
  }

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
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return { ok, detail: `status ${res.statusCode}` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  function push(eventId: string, type: RailEventType, rawBody: string, attempt: number): void {
    void attemptPush(rawBody).then(({ ok, detail }) => {
      if (ok || closed) return;
      if (attempt >= options.maxAttempts) {
        options.logger.warn({ eventId, type, attempt, detail }, 'sandbox notification given up');
        return;
      }
      options.logger.info({ eventId, type, attempt, detail }, 'sandbox notification failed, will retry');
      later(options.retryBaseDelayMs * 2 ** (attempt - 1), () => push(eventId, type, rawBody, attempt + 1));
    });
  }

  return {
    scheduleAt(atMs, buildEvent) {
      later(atMs - Date.now(), () => {
        if (options.shouldDrop()) return;
        const event = buildEvent();
        const id = newSandboxId('ntf');
        // One body per event: retries resend the same id so the receiver can deduplicate.
        const rawBody = JSON.stringify({ id, type: event.type, created: Math.floor(Date.now() / 1000), data: event.data });
        push(id, event.type, rawBody, 1);
      });
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await agent.destroy();
    },
  };
}
