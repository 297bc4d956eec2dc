// API load for the payments benchmark: autocannon driving POST /v1/payments with a fresh Idempotency-Key per
// request, every key and its answer recorded, then the money checks of the tenant the load ran for.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';

export const AMOUNT_MINOR = 2000;

/**
 * The request: 4242… (approved), automatic capture, with the description, metadata and customer reference a
 * real integration sends, so the payment resource stored in events and in the idempotent answer is ~1 KB, as in
 * bench/ceiling.sql (which writes the same resource).
 */
export const PAYMENT_BODY = JSON.stringify({
  amount: AMOUNT_MINOR,
  currency: 'usd',
  payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2029, cvc: '123' } },
  capture_method: 'automatic',
  description: 'Order A-10428: 3 items, standard shipping (bench)',
  metadata: { order_id: 'ord_8F3K2M9QX7', cart_id: 'cart_5d1e2a77c0', channel: 'web', store: 'eu-west-flagship', customer_tier: 'gold' },
  customer_reference: 'cust-000482-eu',
});

export interface LoadRun {
  label: string;
  processes: number;
  connections: number;
  durationS: number;
  /** 201 answers received during the run, per second of the run */
  paymentsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** keys answered 201 during the run, and those whose request autocannon abandoned at the end and that the replay answered 201 */
  createdKeys: Set<string>;
  replayed: number;
  statusCounts: Record<string, number>;
}

interface KeyContext {
  key?: string;
}

/**
 * Load at fixed concurrency for a fixed time against one or more API processes (autocannon spreads the
 * connections over the URLs). At the end autocannon drops the requests still in flight: their payments may exist.
 * Each dropped key is therefore sent again, as a client would retry: the idempotent answer (or the payment, if
 * the request never arrived) makes every created payment one 201 the bench has counted.
 */
export async function runPaymentLoad(options: { label: string; urls: string[]; token: string; connections: number; durationS: number }): Promise<LoadRun> {
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  const sent = new Set<string>();
  const answered = new Map<string, number>();
  const result = await autocannon({
    // autocannon takes several URLs and spreads the connections over them; its type declarations say string only
    url: options.urls.map((u) => `${u}/v1/payments`) as unknown as string,
    connections: options.connections,
    duration: options.durationS,
    method: 'POST',
    body: PAYMENT_BODY,
    headers,
    requests: [{
      setupRequest: (req, context: KeyContext) => {
        const key = randomUUID();
        context.key = key;
        sent.add(key);
        return { ...req, headers: { ...req.headers, 'idempotency-key': key } };
      },
      onResponse: (status, _body, context: KeyContext) => {
        if (context.key !== undefined) answered.set(context.key, status);
      },
    }],
  });
  const createdKeys = new Set<string>();
  for (const [key, status] of answered) if (status === 201) createdKeys.add(key);
  const runCreated = createdKeys.size;

  let replayed = 0;
  let replayFailures = 0;
  for (const key of sent) {
    if (answered.has(key)) continue;
    const status = await replay(options.urls[0]!, headers, key);
    if (status === 201) {
      createdKeys.add(key);
      replayed++;
    } else {
      replayFailures++;
    }
  }
  const statusCounts: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = Number((stat as { count: number | string }).count);
  return {
    label: options.label,
    processes: options.urls.length,
    connections: options.connections,
    durationS: options.durationS,
    paymentsPerSecond: runCreated / options.durationS,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx + replayFailures,
    errors: result.errors,
    timeouts: result.timeouts,
    createdKeys,
    replayed,
    statusCounts,
  };
}

/** The same request under the same key until it is no longer running elsewhere (409 in use). */
async function replay(apiUrl: string, headers: Record<string, string>, key: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${apiUrl}/v1/payments`, { method: 'POST', headers: { ...headers, 'idempotency-key': key }, body: PAYMENT_BODY });
    await res.arrayBuffer();
    if (res.status !== 409 || Date.now() > deadline) return res.status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface MoneyCheck {
  payments: number;
  problems: string[];
  /** average size of the events' JSON (data::text), to compare with the ceiling's */
  eventBytes: number;
}

/**
 * What one tenant's payments look like in the database after its load: every payment succeeded (none left in
 * processing), the amounts add up, each with exactly one authorize attempt, two transitions, two events and two
 * webhook deliveries (one endpoint), and one completed idempotency record. With `keys`, the payments' keys must be
 * exactly those the client saw answered 201: every 201 counted once, and nothing created that was not answered.
 */
export async function checkTenantPayments(ownerUrl: string, tenantId: string, expected: { count: number; keys?: Set<string> }): Promise<MoneyCheck> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const row = (await client.query(
      `WITH p AS (SELECT id, status, amount, amount_captured, idempotency_key FROM payments WHERE tenant_id = $1),
            a AS (SELECT payment_id, count(*) FILTER (WHERE operation = 'authorize' AND status = 'succeeded') AS ok, count(*) AS n
                  FROM payment_attempts WHERE tenant_id = $1 GROUP BY payment_id),
            t AS (SELECT payment_id, count(*) AS n FROM payment_transitions WHERE tenant_id = $1 GROUP BY payment_id),
            e AS (SELECT object_id, count(*) AS n FROM events WHERE tenant_id = $1 GROUP BY object_id),
            d AS (SELECT ev.object_id, count(*) AS n FROM webhook_deliveries w JOIN events ev ON ev.id = w.event_id
                  WHERE w.tenant_id = $1 GROUP BY ev.object_id)
       SELECT
         (SELECT count(*) FROM p)::int AS payments,
         (SELECT count(*) FROM p WHERE status = 'processing')::int AS processing,
         (SELECT count(*) FROM p WHERE status <> 'succeeded')::int AS not_succeeded,
         (SELECT coalesce(sum(amount), 0) FROM p)::text AS amount_sum,
         (SELECT coalesce(sum(amount_captured), 0) FROM p)::text AS captured_sum,
         (SELECT count(*) FROM p LEFT JOIN a ON a.payment_id = p.id WHERE a.n IS DISTINCT FROM 1 OR a.ok <> 1)::int AS bad_attempts,
         (SELECT count(*) FROM p LEFT JOIN t ON t.payment_id = p.id WHERE t.n IS DISTINCT FROM 2)::int AS bad_transitions,
         (SELECT count(*) FROM p LEFT JOIN e ON e.object_id = p.id WHERE e.n IS DISTINCT FROM 2)::int AS bad_events,
         (SELECT count(*) FROM p LEFT JOIN d ON d.object_id = p.id WHERE d.n IS DISTINCT FROM 2)::int AS bad_deliveries,
         (SELECT count(*) FROM idempotency_keys WHERE tenant_id = $1 AND state = 'completed' AND response_status = 201)::int AS answers,
         (SELECT count(*) FROM idempotency_keys WHERE tenant_id = $1)::int AS records,
         (SELECT coalesce(avg(octet_length(data::text)), 0)::int FROM events WHERE tenant_id = $1) AS event_bytes`,
      [tenantId],
    )).rows[0] as Record<string, number | string>;
    const problems: string[] = [];
    const n = Number(row.payments);
    if (n !== expected.count) problems.push(`${n} payments in the database, ${expected.count} expected`);
    if (Number(row.processing) > 0) problems.push(`${row.processing} stuck in processing`);
    if (Number(row.not_succeeded) > 0) problems.push(`${row.not_succeeded} not succeeded`);
    if (BigInt(row.amount_sum!) !== BigInt(n) * BigInt(AMOUNT_MINOR)) problems.push(`sum of amounts ${row.amount_sum} ≠ ${n} × ${AMOUNT_MINOR}`);
    if (BigInt(row.captured_sum!) !== BigInt(n) * BigInt(AMOUNT_MINOR)) problems.push(`sum captured ${row.captured_sum} ≠ ${n} × ${AMOUNT_MINOR}`);
    for (const [col, what] of [['bad_attempts', 'exactly one succeeded authorize attempt'], ['bad_transitions', 'two transitions'], ['bad_events', 'two events'], ['bad_deliveries', 'two webhook deliveries']] as const) {
      if (Number(row[col]) > 0) problems.push(`${row[col]} payments without ${what}`);
    }
    if (Number(row.answers) !== n || Number(row.records) !== n) problems.push(`${row.records} idempotency records, ${row.answers} completed with 201, for ${n} payments`);
    if (expected.keys) {
      const keys = (await client.query('SELECT idempotency_key FROM payments WHERE tenant_id = $1', [tenantId])).rows.map((r: { idempotency_key: string }) => r.idempotency_key);
      const unanswered = keys.filter((k) => !expected.keys!.has(k)).length;
      const missing = expected.keys.size - (keys.length - unanswered);
      if (unanswered > 0) problems.push(`${unanswered} payments created under a key never answered 201`);
      if (missing > 0) problems.push(`${missing} keys answered 201 without a payment`);
    }
    return { payments: n, problems, eventBytes: Number(row.event_bytes) };
  } finally {
    await client.end();
  }
}
