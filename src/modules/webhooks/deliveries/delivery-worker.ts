import { withCrossTenantTx, type Db } from '../../../platform/db.js';
import type { KeyRing } from '../../../platform/crypto.js';
import type { Logger } from '../../../platform/logger.js';
import type { Metrics } from '../../../platform/metrics.js';
import type { WorkerJob } from '../../../platform/worker-loop.js';
import { toEventResource } from '../../events/index.js';
import { buildWebhookHeaders } from '../webhook-signature.js';
import { nextRetryDelayMs } from '../retry-schedule.js';
import type { DeliveryResult, WebhookTransport } from '../webhook-transport.js';
import * as endpointsRepo from '../endpoints/endpoints.repository.js';
import { disableEndpointWithEvent, signingSecretsOf } from '../endpoints/endpoints.service.js';
import * as repo from './deliveries.repository.js';

export interface DeliverySettings {
  retryScheduleMs: readonly number[];
  disableAfterMs: number;
  maxConcurrencyPerEndpoint: number;
  /** Deliveries in flight in this process, all endpoints together. */
  maxInFlight: number;
  /** How long a claim is held; past it, another worker may take the delivery over (crash recovery). */
  leaseMs: number;
  /** Upper bound on how far a receiver's Retry-After can push the next attempt. */
  maxRetryAfterMs: number;
  /** How often an idle dispatcher looks for due deliveries. */
  pollIntervalMs: number;
}

export interface DeliveryWorkerDeps {
  db: Db;
  keyRing: KeyRing;
  transport: WebhookTransport;
  logger: Logger;
  metrics: Metrics;
  settings: DeliverySettings;
  random?: () => number;
}

export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Next state of a delivery after an attempt, from the transport's result and the retry schedule. */
export function nextDeliveryState(
  result: DeliveryResult,
  attemptsMade: number,
  settings: Pick<DeliverySettings, 'retryScheduleMs' | 'maxRetryAfterMs'>,
  now: Date,
  random?: () => number,
): repo.NextDeliveryState {
  if (result.outcome === 'delivered') return { status: 'succeeded', deliveredAt: now };
  if (result.outcome === 'endpoint_gone' || !result.retryable) return { status: 'failed' };
  const delayMs = nextRetryDelayMs({
    attemptsMade,
    scheduleMs: settings.retryScheduleMs,
    retryAfterMs: result.retryAfterMs,
    maxRetryAfterMs: settings.maxRetryAfterMs,
    ...(random ? { random } : {}),
  });
  return delayMs === null ? { status: 'failed' } : { status: 'pending', nextAttemptAt: new Date(now.getTime() + delayMs) };
}

/**
 * The delivery dispatcher of one worker process. Each iteration claims as many due deliveries as it has free
 * slots, starts them and returns at once: a slow receiver holds its slots (at most
 * WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT of them, across all workers) while every other endpoint keeps flowing.
 * The HTTP request runs outside any transaction; its outcome is recorded in a short one.
 */
export function createDeliveryDispatcher(deps: DeliveryWorkerDeps): WorkerJob & { drain(): Promise<void> } {
  const { db, settings, metrics } = deps;
  const log = deps.logger.child({ job: 'webhook-delivery' });
  const inFlight = new Set<Promise<void>>();

  async function record(claim: repo.ClaimedDelivery, result: DeliveryResult, attemptedAt: Date): Promise<void> {
    const now = new Date();
    const attempt: repo.AttemptRecord = {
      attemptedAt,
      outcome: result.outcome,
      statusCode: result.statusCode ?? null,
      latencyMs: result.latencyMs,
      error: result.error ?? null,
      responseBody: result.responseBody ?? null,
    };
    const next = nextDeliveryState(result, claim.attempt_count + 1, settings, now, deps.random);
    const applied = await withCrossTenantTx(db, async (tx) => {
      await repo.insertAttempt(tx, claim.tenant_id, claim.id, attempt);
      const finished = await repo.finishAttempt(tx, claim.tenant_id, claim.id, claim.locked_until, attempt, next);
      if (result.outcome === 'delivered') {
        await endpointsRepo.markEndpointHealthy(tx, claim.tenant_id, claim.endpoint_id);
      } else if (result.outcome === 'endpoint_gone') {
        await disableEndpointWithEvent(tx, claim.tenant_id, claim.endpoint_id, 'endpoint_gone');
      } else {
        const failingSince = await endpointsRepo.markEndpointFailing(tx, claim.tenant_id, claim.endpoint_id, attemptedAt);
        if (failingSince && now.getTime() - failingSince.getTime() >= settings.disableAfterMs) {
          await disableEndpointWithEvent(tx, claim.tenant_id, claim.endpoint_id, 'failing');
        }
      }
      return finished;
    });
    metrics.webhookDeliveryAttempts.inc({ outcome: result.outcome });
    if (!applied) {
      log.warn({ delivery_id: claim.id, tenant_id: claim.tenant_id }, 'delivery lease lost before the outcome was recorded');
    } else if (next.status === 'succeeded') {
      metrics.webhookDeliveryLag.observe((now.getTime() - claim.created_at.getTime()) / 1000);
    }
  }

  async function deliverOne(claim: repo.ClaimedDelivery): Promise<void> {
    const attemptedAt = new Date();
    const body = JSON.stringify(toEventResource({
      id: claim.event_id,
      tenant_id: claim.tenant_id,
      type: claim.event_type,
      object_type: claim.event_object_type,
      object_id: claim.event_object_id,
      data: claim.event_data,
      created_at: claim.event_created_at,
    }));
    let result: DeliveryResult;
    try {
      const headers = buildWebhookHeaders({
        msgId: claim.event_id,
        timestampSec: Math.floor(attemptedAt.getTime() / 1000),
        body,
        secrets: signingSecretsOf(deps.keyRing, claim, attemptedAt),
      });
      result = await deps.transport.deliver({ url: claim.url, headers: { ...headers }, body });
    } catch (err) {
      // A secret that no longer decrypts (master key changed) is an operator problem: retry, do not drop.
      log.error({ err, delivery_id: claim.id, tenant_id: claim.tenant_id }, 'could not prepare webhook delivery');
      result = { outcome: 'failed', retryable: true, latencyMs: 0, error: 'internal_error' };
    }
    await record(claim, result, attemptedAt);
  }

  function start(claim: repo.ClaimedDelivery): void {
    const p: Promise<void> = deliverOne(claim)
      .catch((err: unknown) => {
        // Recording failed (database unreachable): the lease expires and the delivery is attempted again.
        log.error({ err, delivery_id: claim.id, tenant_id: claim.tenant_id }, 'could not record webhook delivery attempt');
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  return {
    name: 'webhook-delivery',
    // The dispatcher waits by itself (below), so the loop never adds a sleep of its own.
    idleDelayMs: 0,
    async runOnce() {
      const free = settings.maxInFlight - inFlight.size;
      if (free > 0) {
        const claimed = await withCrossTenantTx(db, (tx) =>
          repo.claimDueDeliveries(tx, { limit: free, maxPerEndpoint: settings.maxConcurrencyPerEndpoint, leaseMs: settings.leaseMs }),
        );
        for (const claim of claimed) start(claim);
        if (claimed.length > 0) return claimed.length;
      }
      // Nothing claimable: wait for a slot to free up (an endpoint at its limit may then take another
      // delivery) or for the poll interval, whichever comes first.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => { timer = setTimeout(resolve, settings.pollIntervalMs); }),
        ...(inFlight.size > 0 ? [Promise.race(inFlight)] : []),
      ]);
      clearTimeout(timer);
      return 0;
    },
    async drain() {
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** Keeps the backlog and disabled-endpoint gauges current. */
export function createWebhookGaugesJob(deps: { db: Db; metrics: Metrics; intervalMs: number }): WorkerJob {
  return {
    name: 'webhook-gauges',
    idleDelayMs: deps.intervalMs,
    async runOnce() {
      const [pending, disabled] = await withCrossTenantTx(deps.db, async (tx) => [
        await repo.countPendingDeliveries(tx),
        await endpointsRepo.countDisabledEndpoints(tx),
      ]);
      deps.metrics.webhookDeliveriesPending.set(pending);
      deps.metrics.webhookEndpointsDisabled.set(disabled);
      return 0;
    },
  };
}
