import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestPlatform } from '../helpers/platform.js';
import { createTenant } from '../helpers/tenants.js';
import type { Exposition } from './support/exposition.js';
import { sandboxControl } from '../helpers/sandbox-control.js';

/** What the running code really exposes, to check runbook commands against. */
export interface SystemFacts {
  /** metric name (as scraped, histogram series included) → label names seen or registered */
  metrics: Map<string, Set<string>>;
  /** dotted log field path → JSON types seen in real log lines */
  logFields: Map<string, Set<string>>;
  /** keys passed to the logger in src/ (log calls and child loggers): fields of lines the test traffic does not provoke */
  declaredLogFields: Set<string>;
}

/**
 * Series Prometheus adds when it scrapes (target labels from the PodMonitor), and metrics of other exporters the
 * runbooks use. Anything else a runbook names must come out of NimbusPay's own /metrics.
 */
export const TARGET_LABELS = new Set(['namespace', 'pod', 'job', 'container', 'instance', 'endpoint', 'service']);
export const EXTERNAL_METRICS: Record<string, string> = {
  up: 'Prometheus, one per scrape target',
  container_cpu_usage_seconds_total: 'cAdvisor (kubelet)',
  container_cpu_cfs_throttled_periods_total: 'cAdvisor (kubelet)',
  container_memory_working_set_bytes: 'cAdvisor (kubelet)',
  kube_deployment_status_replicas_available: 'kube-state-metrics',
  kube_pod_container_status_restarts_total: 'kube-state-metrics',
};
/** Fields Fluent Bit adds to every CloudWatch event, and Logs Insights' own. */
export const SHIPPER_LOG_FIELD_PREFIXES = ['kubernetes.'];

function addAll<K, V>(map: Map<K, Set<V>>, key: K, values: Iterable<V>): void {
  const set = map.get(key) ?? new Set<V>();
  for (const v of values) set.add(v);
  map.set(key, set);
}

/** Metric names (a family's `# TYPE` included, even before its first sample) and the label names of their samples. */
export function exposedLabels(exposition: Exposition, into: Map<string, Set<string>>): void {
  for (const [name, kind] of exposition.types) {
    const names = kind === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : kind === 'summary' ? [name, `${name}_count`, `${name}_sum`] : [name];
    for (const n of names) addAll(into, n, []);
  }
  for (const sample of exposition.samples) addAll(into, sample.name, Object.keys(sample.labels));
}

/** Registered label names of every metric, including those with no sample yet (a labelled gauge nobody set). */
export async function registeredLabels(platform: TestPlatform, into: Map<string, Set<string>>): Promise<void> {
  for (const metric of await platform.api.metrics.registry.getMetricsAsJSON()) {
    const labelNames = ((platform.api.metrics.registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] }).labelNames ?? []);
    const names = String(metric.type) === 'histogram' ? [`${metric.name}_bucket`, `${metric.name}_count`, `${metric.name}_sum`] : [metric.name];
    for (const n of names) addAll(into, n, [...labelNames, 'role', ...(n.endsWith('_bucket') ? ['le'] : [])]);
  }
}

export function collectLogFields(records: Array<Record<string, unknown>>, into: Map<string, Set<string>>): void {
  const walk = (prefix: string, value: unknown): void => {
    addAll(into, prefix, [value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value]);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(`${prefix}.${k}`, v);
    }
  };
  for (const record of records) for (const [k, v] of Object.entries(record)) walk(k, v);
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** The object literal starting at `open` (a `{`), brace-balanced. */
function objectLiteralAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  return '';
}

/** Keys of the first argument of every `.child({…})` and `.<level>({…}, …)` call in src/. */
export async function declaredLogKeys(srcDir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const file of await sourceFiles(srcDir)) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/\.(?:child|trace|debug|info|warn|error|fatal)\(\s*\{/g)) {
      const literal = objectLiteralAt(text, m.index + m[0].length - 1);
      for (const k of literal.matchAll(/[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?=[:,}])/g)) keys.add(k[1]!);
    }
  }
  return keys;
}

/**
 * Traffic that makes the platform write its usual lines: a refused and an accepted token request, payments
 * (one declined, one refunded), a client error, an unknown route; the worker runs meanwhile.
 */
export async function exerciseLogs(platform: TestPlatform): Promise<void> {
  const bad = await fetch(`${platform.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  await bad.text();
  const tenant = await createTenant(platform);
  const card = (number: string) => ({ type: 'card', card: { number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' } });
  const post = (p: string, body: unknown) => platform.request('POST', p, { token: tenant.token, body, headers: { 'idempotency-key': randomUUID() } });
  const paid = await post('/v1/payments', { amount: 2_000, currency: 'usd', payment_method: card('4242424242424242') });
  await post(`/v1/payments/${paid.body.id}/refunds`, { amount: 500 });
  await post('/v1/payments', { amount: 2_000, currency: 'usd', payment_method: card('4000000000000002') });
  await post('/v1/payments', { amount: -1, currency: 'usd' });
  await platform.request('GET', '/v1/no_such_route', { token: tenant.token });
  // Last, as it leaves the circuit open for a while: a processor failing every call until the breaker opens and the
  // API answers 503, so the lines of a 5xx (`err`, through pino's error serializer) are among the facts.
  await sandboxControl(platform, { error_rate: 1 });
  try {
    for (let i = 0; i < 12; i++) {
      const res = await post('/v1/payments', { amount: 2_000, currency: 'usd', payment_method: card('4242424242424242') });
      if (res.status === 503) return;
    }
    throw new Error('the processor circuit never opened: no 5xx line to learn from');
  } finally {
    await sandboxControl(platform, { error_rate: 0 });
  }
}
