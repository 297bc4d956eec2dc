import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type pg from 'pg';
import { Agent, request } from 'undici';
import { findObject, updateObject, withTransaction, type StripeObject } from './stripe-local-store.js';
import { leaseWebhook, lockDueWebhooks, recordWebhookAttempt } from './work-store.js';
import { unixSeconds } from './stripe-ids.js';

export interface WebhookTarget {
  url: string;
  secret: string;
  /** First retry after this; each later one waits twice as long, up to `maxRetryDelayMs`. */
  retryBaseDelayMs: number;
  maxRetryDelayMs: number;
  maxAttempts: number;
  timeoutMs: number;
}

/** Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the endpoint secret>`. */
export function signWebhookPayload(secret: string, payload: string, timestampSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`, 'utf8').digest('hex');
  return `t=${timestampSeconds},v1=${v1}`;
}

export function webhookRetryDelayMs(target: WebhookTarget, attempt: number): number {
  return Math.min(target.maxRetryDelayMs, target.retryBaseDelayMs * 2 ** Math.max(0, attempt - 1));
}

export interface WebhookSender {
  /** Sends what is due; returns how many deliveries were attempted. */
  runOnce(): Promise<number>;
  close(): Promise<void>;
}

/** A claimed delivery is leased for this long; a process that dies mid-send leaves it to be retried after it. */
const LEASE_MS = 60_000;

export function createWebhookSender(deps: {
  pool: pg.Pool;
  target: WebhookTarget;
  logger: Logger;
  shouldDrop: () => boolean;
  random: () => number;
}): WebhookSender {
  const { pool, target, logger } = deps;
  const agent = new Agent({ connect: { timeout: target.timeoutMs } });

  async function send(event: StripeObject): Promise<{ ok: boolean; detail: string }> {
    const payload = JSON.stringify(event, null, 2);
    try {
      const res = await request(target.url, {
        dispatcher: agent,
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': signWebhookPayload(target.secret, payload, unixSeconds()),
        },
        body: payload,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
      });
      await res.body.dump();
      return { ok: res.statusCode >= 200 && res.statusCode < 300, detail: `status ${res.statusCode}` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  return {
    async runOnce() {
      const claimed = await withTransaction(pool, async (tx) => {
        const due = await lockDueWebhooks(tx, 10);
        for (const row of due) await leaseWebhook(tx, row.event_id, LEASE_MS);
        return due;
      });
      for (const row of claimed) {
        const event = await findObject(pool, 'event', row.event_id);
        if (!event) continue;
        const attempt = row.attempts + 1;
        if (deps.shouldDrop()) {
          await recordWebhookAttempt(pool, row.event_id, { state: 'given_up', error: 'dropped by the drop_webhooks switch' });
          logger.info({ eventId: event.id, type: event.type }, 'webhook dropped');
          continue;
        }
        const { ok, detail } = await send(event);
        if (ok) {
          await recordWebhookAttempt(pool, row.event_id, { state: 'delivered' });
          await withTransaction(pool, async (tx) => {
            const fresh = await findObject(tx, 'event', row.event_id);
            if (fresh) await updateObject(tx, { ...fresh, pending_webhooks: 0 });
          });
        } else if (attempt >= target.maxAttempts) {
          await recordWebhookAttempt(pool, row.event_id, { state: 'given_up', error: detail });
          logger.warn({ eventId: event.id, type: event.type, attempt, detail }, 'webhook given up');
        } else {
          // Jitter, so a receiver that was down is not hit by every queued event in the same instant.
          const retryInMs = Math.round(webhookRetryDelayMs(target, attempt) * (0.75 + 0.5 * deps.random()));
          await recordWebhookAttempt(pool, row.event_id, { state: 'pending', retryInMs, error: detail });
          logger.info({ eventId: event.id, type: event.type, attempt, retryInMs, detail }, 'webhook failed, will retry');
        }
      }
      return claimed.length;
    },
    async close() {
      await agent.destroy();
    },
  };
}
