import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenForNotifications, withCrossTenantTx, type Db, type NotificationListener, type Tx } from '../../../platform/db.js';
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
  /**
   * How often an idle dispatcher looks for due deliveries while NOTIFY wakes it for new ones: what it still has to
   * find by polling became due by the clock (another worker's retry, an expired lease).
   */
  pollIntervalMs: number;
  /** The same while no LISTEN is in place (connection lost, or no `notifications` given): the poll is all there is. */
  pollIntervalWithoutNotifyMs: number;
}

/** The channel migration 0011's triggers notify whenever deliveries become due now. */
export const DELIVERIES_CHANNEL = 'webhook_deliveries';

export interface DeliveryWorkerDeps {
  db: Db;
  keyRing: KeyRing;
  transport: WebhookTransport;
  logger: Logger;
  metrics: Metrics;
  settings: DeliverySettings;
  /** Where to LISTEN (a dedicated connection of its own); without it the dispatcher only polls. */
  notifications?: { connectionString: string; applicationName: string };
  random?: () => number;
}

export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
// After the first attempt of a round finishes, how long to let the others catch up so they are recorded together.
const BATCH_WINDOW_MS = 2;
// After a round that claimed work, the dispatcher stays awake this long, looking every AWAKE_POLL_MS by itself
// instead of asking producers to NOTIFY it (see migration 0011: each notifying commit waits on a global lock).
const AWAKE_WINDOW_MS = 1_000;
const AWAKE_POLL_MS = 20;

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

interface FinishedAttempt {
  claim: repo.ClaimedDelivery;
  outcome: repo.AttemptOutcome;
}

/**
 * The delivery dispatcher of one worker process. It works in rounds; each round is one short transaction that
 * records every attempt finished since the previous round, then claims as many due deliveries as there are free
 * slots. The HTTP requests run outside any transaction, concurrently: a slow receiver holds its slots (at most
 * WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT of them, across all workers) while every other endpoint keeps flowing.
 * Recording in batches is what lets one worker sustain thousands of deliveries per second: the per-delivery
 * cost is a share of two statements and one commit, not a transaction of its own.
 * An idle dispatcher is woken by NOTIFY on DELIVERIES_CHANNEL (sent at the commit of whatever made deliveries due
 * now), LISTENed on a connection of its own; it still polls, slowly, for what becomes due by the clock, and as
 * before while that connection is down. Every replica listens; claims decide who sends what.
 */
export function createDeliveryDispatcher(deps: DeliveryWorkerDeps): WorkerJob & { drain(): Promise<void>; close(): Promise<void> } {
  const { db, settings, metrics } = deps;
  const log = deps.logger.child({ job: 'webhook-delivery' });
  const inFlight = new Set<Promise<void>>();
  let finished: FinishedAttempt[] = [];
  let wake: (() => void) | undefined;
  // Set by anything that means "there may be work now" (a notification, a finished attempt, the listener coming or
  // going); cleared when a round starts, so a wake-up that arrives during a round is not lost.
  let wakeRequested = false;
  let listener: NotificationListener | undefined;
  let closed = false;
  // The earliest retry this worker scheduled: it becomes due by the clock, and no notification will say so.
  let nextRetryAtMs = Number.POSITIVE_INFINITY;
  // Sleeping: registered in webhook_dispatcher_sleepers (so new deliveries NOTIFY) until about this local time.
  const dispatcherId = `whd-dispatcher-${randomUUID()}`;
  let registeredUntilMs: number | undefined;
  let awakeUntilMs = 0;

  const registrationMs = () => 4 * settings.pollIntervalMs;

  /**
   * Before sleeping, a dispatcher registers so that producers notify it; what committed before the registration
   * sent no notification, so it must look once more after registering ('look_again': a round now, not a sleep).
   * While it has had work recently it stays awake and looks every AWAKE_POLL_MS instead: under load nobody notifies.
   */
  async function prepareToSleep(): Promise<'look_again' | 'awake' | 'asleep'> {
    if (!listener?.listening) return 'asleep';
    if (Date.now() < awakeUntilMs) return 'awake';
    if (registeredUntilMs !== undefined && registeredUntilMs - Date.now() > 2 * settings.pollIntervalMs) return 'asleep';
    await repo.registerSleepingDispatcher(db, dispatcherId, registrationMs());
    registeredUntilMs = Date.now() + registrationMs();
    return 'look_again';
  }

  async function wakeFromSleep(): Promise<void> {
    awakeUntilMs = Date.now() + AWAKE_WINDOW_MS;
    if (registeredUntilMs === undefined) return;
    registeredUntilMs = undefined;
    await repo.deregisterSleepingDispatcher(db, dispatcherId);
  }

  function wakeUp(): void {
    wakeRequested = true;
    wake?.();
  }

  function startListening(): void {
    if (listener || closed || !deps.notifications) return;
    listener = listenForNotifications({
      ...deps.notifications,
      channel: DELIVERIES_CHANNEL,
      onNotification: wakeUp,
      // Up: what was notified while down was lost, so look now. Down: shorten the current wait to the fallback poll.
      onListening: () => wakeUp(),
      logger: log,
    });
  }

  async function applyEndpointHealth(tx: Tx, batch: readonly FinishedAttempt[], now: Date): Promise<void> {
    const byEndpoint = new Map<string, { tenantId: string; delivered: boolean; wasFailing: boolean; gone: boolean; failedAt?: Date }>();
    for (const { claim, outcome } of batch) {
      const e = byEndpoint.get(claim.endpoint_id) ?? { tenantId: claim.tenant_id, delivered: false, wasFailing: false, gone: false };
      e.wasFailing ||= claim.endpoint_failing;
      if (outcome.outcome === 'delivered') e.delivered = true;
      else if (outcome.outcome === 'endpoint_gone') e.gone = true;
      else if (!e.failedAt || outcome.attemptedAt < e.failedAt) e.failedAt = outcome.attemptedAt;
      byEndpoint.set(claim.endpoint_id, e);
    }
    const healthy: Array<{ tenantId: string; endpointId: string }> = [];
    const failing: Array<{ tenantId: string; endpointId: string; failedAt: Date }> = [];
    for (const [endpointId, e] of byEndpoint) {
      if (e.gone) await disableEndpointWithEvent(tx, e.tenantId, endpointId, 'endpoint_gone');
      // Any success in the round means the endpoint is not failing continuously. Only a clock that was running at
      // claim time needs stopping: a healthy endpoint costs no statement (one that started failing since is
      // stopped by the next success claimed after that).
      else if (e.delivered) {
        if (e.wasFailing) healthy.push({ tenantId: e.tenantId, endpointId });
      }
      else if (e.failedAt) failing.push({ tenantId: e.tenantId, endpointId, failedAt: e.failedAt });
    }
    await endpointsRepo.markEndpointsHealthy(tx, healthy);
    for (const row of await endpointsRepo.markEndpointsFailing(tx, failing)) {
      if (now.getTime() - row.failing_since.getTime() >= settings.disableAfterMs) {
        await disableEndpointWithEvent(tx, row.tenant_id, row.id, 'failing');
      }
    }
  }

  async function recordBatch(tx: Tx, batch: readonly FinishedAttempt[]): Promise<Set<string>> {
    const applied = await repo.recordAttempts(tx, batch.map((f) => f.outcome));
    await applyEndpointHealth(tx, batch, new Date());
    return applied;
  }

  /** After the round that recorded `batch` committed: metrics, lost leases, and the earliest retry it scheduled. */
  function reportRecorded(batch: readonly FinishedAttempt[], applied: Set<string>): void {
    const now = Date.now();
    for (const { claim, outcome } of batch) {
      metrics.webhookDeliveryAttempts.inc({ outcome: outcome.outcome });
      if (!applied.has(claim.id)) {
        log.warn({ delivery_id: claim.id, tenant_id: claim.tenant_id }, 'delivery lease lost before the outcome was recorded');
      } else if (outcome.next.status === 'pending') {
        nextRetryAtMs = Math.min(nextRetryAtMs, outcome.next.nextAttemptAt.getTime());
      } else if (outcome.next.status === 'succeeded') {
        // From the delivery being queued: for a live event that is its commit; replays and manual retries
        // start their own clock instead of reporting the age of the event.
        metrics.webhookDeliveryLag.observe((now - claim.created_at.getTime()) / 1000);
      }
    }
  }

  async function attempt(claim: repo.ClaimedDelivery): Promise<repo.AttemptOutcome> {
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
    return {
      tenantId: claim.tenant_id,
      deliveryId: claim.id,
      lease: claim.locked_until,
      attemptedAt,
      outcome: result.outcome,
      statusCode: result.statusCode ?? null,
      latencyMs: result.latencyMs,
      error: result.error ?? null,
      responseBody: result.responseBody ?? null,
      next: nextDeliveryState(result, claim.attempt_count + 1, settings, new Date(), deps.random),
    };
  }

  function start(claim: repo.ClaimedDelivery): void {
    const p: Promise<void> = attempt(claim)
      .then((outcome) => {
        finished.push({ claim, outcome });
        wakeUp();
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  /** Waits for a wake-up, the next retry this worker knows of, the poll interval, or the worker stopping. */
  async function idle(signal: AbortSignal | undefined, awake = false): Promise<void> {
    if (wakeRequested || signal?.aborted) return;
    const pollMs = awake ? AWAKE_POLL_MS : listener?.listening ? settings.pollIntervalMs : settings.pollIntervalWithoutNotifyMs;
    const ms = Math.max(0, Math.min(pollMs, nextRetryAtMs - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
      onAbort = resolve;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    wake = undefined;
    clearTimeout(timer);
    // always set: the Promise executor above runs synchronously
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }

  async function drain(): Promise<void> {
    await Promise.allSettled([...inFlight]);
    const batch = finished;
    finished = [];
    if (batch.length === 0) return;
    const applied = await withCrossTenantTx(db, (tx) => recordBatch(tx, batch)).catch((err: unknown) => {
      log.error({ err }, 'could not record the last webhook delivery attempts; their leases will expire and they will be retried');
      return undefined;
    });
    if (applied) reportRecorded(batch, applied);
  }

  return {
    name: 'webhook-delivery',
    // The dispatcher waits by itself (below), so the loop never adds a sleep of its own.
    idleDelayMs: 0,
    async runOnce(signal?: AbortSignal) {
      startListening();
      wakeRequested = false;
      // Retries due by now are claimed by this round (if there is room; a finished attempt wakes the next one).
      if (nextRetryAtMs <= Date.now()) nextRetryAtMs = Number.POSITIVE_INFINITY;
      const batch = finished;
      finished = [];
      const free = settings.maxInFlight - inFlight.size;
      let round: { applied: Set<string>; claimed: repo.ClaimedDelivery[] };
      try {
        round = await withCrossTenantTx(db, async (tx) => ({
          applied: await recordBatch(tx, batch),
          claimed: free > 0
            ? await repo.claimDueDeliveries(tx, { limit: free, maxPerEndpoint: settings.maxConcurrencyPerEndpoint, leaseMs: settings.leaseMs })
            : [],
        }));
      } catch (err) {
        // Database unreachable: keep the outcomes for the next round (their leases protect the deliveries meanwhile).
        finished = [...batch, ...finished];
        log.error({ err, finished: finished.length }, 'webhook delivery round failed');
        // only a new event (an attempt finishing, the listener reconnecting) cuts this wait short
        wakeRequested = false;
        await idle(signal);
        return 0;
      }
      reportRecorded(batch, round.applied);
      for (const claim of round.claimed) start(claim);
      // Deregistering is best effort: should it fail, producers keep notifying until the registration runs out.
      if (round.claimed.length > 0) await wakeFromSleep().catch((err: unknown) => log.warn({ err }, 'could not deregister the sleeping dispatcher'));
      // Until an attempt finishes there is nothing to record and (if claiming stopped short) no slot to fill, so
      // the next round waits for the first finished attempt or a notification of new deliveries. Starting it at
      // once would mostly run empty rounds and split every batch in two.
      if (finished.length === 0) {
        const state = round.claimed.length > 0 ? 'awake' : await prepareToSleep().catch((err: unknown) => {
          log.warn({ err }, 'could not register the sleeping dispatcher; polling instead');
          return 'awake' as const;
        });
        if (state === 'look_again') return batch.length;
        await idle(signal, state === 'awake');
      }
      if (finished.length > 0 && inFlight.size > 0) await sleep(BATCH_WINDOW_MS);
      return batch.length + round.claimed.length;
    },
    drain,
    /** Stops listening, then drains. */
    async close() {
      closed = true;
      await listener?.close();
      await drain();
      if (registeredUntilMs !== undefined) await repo.deregisterSleepingDispatcher(db, dispatcherId).catch(() => {});
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
