import client from 'prom-client';
import type pg from 'pg';

/**
 * All Prometheus metrics of a process, on a registry of its own (so tests can build many apps in one process).
 * Names are part of the operational contract: deploy/prometheus/alerts.yml depends on them.
 */
export function createMetrics(options: { role: string; collectDefaults?: boolean }) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ role: options.role });
  if (options.collectDefaults !== false) client.collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    httpRequestDuration: new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    paymentsTotal: new client.Counter({
      name: 'nimbuspay_payments_total',
      help: 'Payments reaching a status, by method, status and failure code',
      labelNames: ['method', 'status', 'failure_code'] as const,
      registers: r,
    }),
    processorRequestDuration: new client.Histogram({
      name: 'nimbuspay_processor_request_duration_seconds',
      help: 'Processor call latency by operation and normalized outcome',
      labelNames: ['operation', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    processorCircuitState: new client.Gauge({
      name: 'nimbuspay_processor_circuit_state',
      help: 'Processor circuit breaker: 0 closed, 1 half-open, 2 open',
      registers: r,
    }),
    paymentsProcessing: new client.Gauge({
      name: 'nimbuspay_payments_processing',
      help: 'Payments currently in status processing, by method',
      labelNames: ['method'] as const,
      registers: r,
    }),
    paymentsProcessingOldestAge: new client.Gauge({
      name: 'nimbuspay_payments_processing_oldest_age_seconds',
      help: 'Age of the oldest payment in status processing, by method',
      labelNames: ['method'] as const,
      registers: r,
    }),
    // The answers the payments module acts on: get_bank_debit for a debit the rail had accepted (the payment is
    // flagged once the grace window is over), get_operation_status for a bank debit submission whose answer was
    // lost (then it was never recorded and is submitted again).
    processorNotFound: new client.Counter({
      name: 'nimbuspay_processor_not_found_total',
      help: 'Processor answers "not found" to a query, by operation (get_bank_debit, get_operation_status)',
      labelNames: ['operation'] as const,
      registers: r,
    }),
    paymentsNeedingAttention: new client.Gauge({
      name: 'nimbuspay_payments_needing_attention',
      help: 'Payments flagged for an operator, by reason (processor_lost_debit: the processor no longer knows a debit it accepted)',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    webhookDeliveriesPending: new client.Gauge({
      name: 'nimbuspay_webhook_deliveries_pending',
      help: 'Webhook deliveries waiting to be sent (backlog)',
      registers: r,
    }),
    webhookDeliveryLag: new client.Histogram({
      name: 'nimbuspay_webhook_delivery_lag_seconds',
      help: 'Time from event commit to a 2xx from the endpoint',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600],
      registers: r,
    }),
    webhookDeliveryAttempts: new client.Counter({
      name: 'nimbuspay_webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    webhookEndpointsDisabled: new client.Gauge({
      name: 'nimbuspay_webhook_endpoints_disabled',
      help: 'Webhook endpoints currently disabled',
      registers: r,
    }),
    // The request log is written in batches off the request path; while the database refuses them the buffer is
    // bounded, and what it cannot hold is dropped and counted here instead of slowing requests down.
    requestLogDropped: new client.Counter({
      name: 'nimbuspay_request_log_dropped_total',
      help: 'Request log entries dropped (buffer full while the database was unavailable, or refused by it)',
      registers: r,
    }),
    tokenRequests: new client.Counter({
      name: 'nimbuspay_token_requests_total',
      help: 'OAuth token endpoint requests by outcome',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Pool gauges read at scrape time, so they are never stale. */
export function registerPoolMetrics(metrics: Metrics, pool: pg.Pool): void {
  new client.Gauge({
    name: 'nimbuspay_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}
