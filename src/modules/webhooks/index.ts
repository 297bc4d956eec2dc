import type { Config } from '../../platform/config.js';
import type { KeyRing } from '../../platform/crypto.js';
import type { Db } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import type { WebhookUrlPolicy } from './ssrf-guard.js';
import { createWebhookTransport } from './webhook-transport.js';
import { createDeliveryDispatcher, createWebhookGaugesJob, MAX_RETRY_AFTER_MS } from './deliveries/delivery-worker.js';
import { webhookRetrySchedule } from './retry-schedule.js';

export { registerWebhookRoutes } from './webhooks.routes.js';
export { recordEventAndFanOut } from './deliveries/event-fan-out.repository.js';
export { createDeliveryDispatcher, nextDeliveryState, type DeliverySettings } from './deliveries/delivery-worker.js';
export { validateEndpointUrl } from './endpoints/endpoints.service.js';
// For the support module: the same actions in the caller's transaction (the audit entry commits with the effect).
export { enableEndpointInTx, toEndpointResource } from './endpoints/endpoints.service.js';
export { replayEventsInTx, retryDeliveryInTx, MAX_REPLAY_EVENTS } from './deliveries/deliveries.service.js';
// The attempts of a tenant's deliveries, oldest first (support's delivery views show them too).
export { listAttempts as listDeliveryAttempts, type AttemptRow as DeliveryAttemptRow } from './deliveries/deliveries.repository.js';
export { WebhookEndpointSchema } from './endpoints/endpoints.schema.js';
export { createWebhookTransport, type WebhookTransport } from './webhook-transport.js';
export { webhookRetrySchedule } from './retry-schedule.js';

/** https everywhere but development; private targets only where configuration allows (never in production). */
export function webhookUrlPolicy(config: Config): WebhookUrlPolicy {
  return { requireHttps: config.env !== 'development', allowPrivateTargets: config.webhookAllowPrivateTargets };
}

/** In-flight deliveries per worker process, all endpoints together. */
const MAX_IN_FLIGHT_PER_WORKER = 128;
// New deliveries wake the dispatcher through LISTEN/NOTIFY; while that connection is down the poll is what lag is
// made of, so it stays short whatever WORKER_POLL_INTERVAL_MS says (a claim that finds nothing is one indexed query).
const MAX_DELIVERY_POLL_INTERVAL_WITHOUT_NOTIFY_MS = 50;
const GAUGES_INTERVAL_MS = 5_000;
/** How the dispatcher's LISTEN connection shows in pg_stat_activity. */
export const WEBHOOK_LISTENER_APPLICATION_NAME = 'nimbuspay-webhook-listener';

/** The worker jobs of the webhooks module: the delivery dispatcher and the gauges. `close` drains in-flight deliveries. */
export function webhookWorkerJobs(deps: { config: Config; db: Db; keyRing: KeyRing; logger: Logger; metrics: Metrics }): {
  jobs: WorkerJob[];
  close(): Promise<void>;
} {
  const { config } = deps;
  const policy = webhookUrlPolicy(config);
  const transport = createWebhookTransport({ ...policy, timeoutMs: config.webhookTimeoutMs });
  const dispatcher = createDeliveryDispatcher({
    db: deps.db,
    keyRing: deps.keyRing,
    transport,
    logger: deps.logger,
    metrics: deps.metrics,
    settings: {
      retryScheduleMs: webhookRetrySchedule(config),
      disableAfterMs: config.webhookDisableAfterMs,
      maxConcurrencyPerEndpoint: config.webhookMaxConcurrencyPerEndpoint,
      maxInFlight: MAX_IN_FLIGHT_PER_WORKER,
      // The transport bounds the whole request by the timeout; the margin covers recording the outcome.
      leaseMs: 2 * config.webhookTimeoutMs + 10_000,
      maxRetryAfterMs: MAX_RETRY_AFTER_MS,
      pollIntervalMs: config.workerPollIntervalMs,
      pollIntervalWithoutNotifyMs: Math.min(config.workerPollIntervalMs, MAX_DELIVERY_POLL_INTERVAL_WITHOUT_NOTIFY_MS),
    },
    ...(config.databaseUrl ? { notifications: { connectionString: config.databaseUrl, applicationName: WEBHOOK_LISTENER_APPLICATION_NAME } } : {}),
  });
  let closing: Promise<void> | undefined;
  return {
    jobs: [dispatcher, createWebhookGaugesJob({ db: deps.db, metrics: deps.metrics, intervalMs: GAUGES_INTERVAL_MS })],
    close() {
      closing ??= dispatcher.close().then(() => transport.close());
      return closing;
    },
  };
}
