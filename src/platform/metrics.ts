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
  const registers = [registry];
  const counter = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new client.Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new client.Gauge<L>({ name, help, labelNames, registers });
  const histogram = <L extends string = string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new client.Histogram<L>({ name, help, labelNames, buckets, registers });
  return {
    registry,
    httpRequestDuration: histogram('http_request_duration_seconds',
      'HTTP request latency by method, route template and status code', ['method', 'route', 'status_code'],
      [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
    paymentsTotal: counter('nimbuspay_payments_total',
      'Payments reaching a status, by method, status and failure code', ['method', 'status', 'failure_code']),
    processorRequestDuration: histogram('nimbuspay_processor_request_duration_seconds',
      'Processor call latency by operation and normalized outcome', ['operation', 'outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    processorCircuitState: gauge('nimbuspay_processor_circuit_state', 'Processor circuit breaker: 0 closed, 1 half-open, 2 open'),
    paymentsProcessing: gauge('nimbuspay_payments_processing', 'Payments currently in status processing, by method', ['method']),
    paymentsProcessingOldestAge: gauge('nimbuspay_payments_processing_oldest_age_seconds',
      'Age of the oldest payment in status processing, by method', ['method']),
    // The answers the payments module acts on: get_bank_debit for a debit the rail had accepted (the payment is
    // flagged once the grace window is over), get_operation_status for a bank debit submission whose answer was
    // lost (then it was never recorded and is submitted again).
    processorNotFound: counter('nimbuspay_processor_not_found_total',
      'Processor answers "not found" to a query, by operation (get_bank_debit, get_operation_status)', ['operation']),
    paymentsNeedingAttention: gauge('nimbuspay_payments_needing_attention',
      'Payments flagged for an operator, by reason (processor_lost_debit: the processor no longer knows a debit it accepted)',
      ['reason']),
    webhookDeliveriesPending: gauge('nimbuspay_webhook_deliveries_pending', 'Webhook deliveries waiting to be sent (backlog)'),
    webhookDeliveryLag: histogram('nimbuspay_webhook_delivery_lag_seconds',
      'Time from event commit to a 2xx from the endpoint', [], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600]),
    webhookDeliveryAttempts: counter('nimbuspay_webhook_delivery_attempts_total',
      'Webhook delivery attempts by outcome', ['outcome']),
    webhookEndpointsDisabled: gauge('nimbuspay_webhook_endpoints_disabled', 'Webhook endpoints currently disabled'),
    // The request log is written in batches off the request path; while the database refuses them the buffer is
    // bounded, and what it cannot hold is dropped and counted here instead of slowing requests down.
    requestLogDropped: counter('nimbuspay_request_log_dropped_total',
      'Request log entries dropped (buffer full while the database was unavailable, or refused by it)'),
    tokenRequests: counter('nimbuspay_token_requests_total', 'OAuth token endpoint requests by outcome', ['outcome']),
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
