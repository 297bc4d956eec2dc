import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, post } from '../payments/helpers.js';

import { ALERTS_FILE, loadAlertGroups } from './support/alert-rules.js';
import { startPrometheus } from './support/prometheus-server.js';
import { keepSending } from './support/traffic.js';
import { NAMESPACE, startWatchedPlatform } from './support/watched-platform.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

// A real Prometheus (Debian's) scrapes the running platform's api and worker every second and evaluates
// deploy/prometheus/alerts.yml exactly as committed, `for:` durations included. Shortening `for:` in a copy would
// test a copy; instead this waits for the driven alert to be *pending*, which is Prometheus saying the rule's
// expression is true on the real scraped series. How long it must stay true (`for:`) is time, which the promtool
// tests cover (alerts.test.yml, alerts-real-series.test.ts). Loading the committed file also proves every rule
// parses and evaluates without error against real data.

interface Target { health: string; labels: Record<string, string>; lastError: string }
interface Rule { name: string; health: string; lastError?: string; lastEvaluation: string; type: string }
interface Alert { labels: Record<string, string>; state: string }

test('ops: a real Prometheus scrapes the platform, evaluates alerts.yml without errors, and raises the processor error and target down alerts', async (t) => {
  const names = (await loadAlertGroups()).flatMap((g) => g.rules.map((r) => r.alert)).sort();
  // A slow but healthy answer must not count as a processor failure (the harness's 1 s timeout would, on a busy
  // machine, and the 'healthy platform' check below would see NimbusPayProcessorErrorRate pending).
  const watched = await startWatchedPlatform({ api: 'api', worker: 'worker' }, { PROCESSOR_TIMEOUT_MS: '10000' });
  t.after(() => watched.close());
  const prometheus = await startPrometheus(watched.targets, [ALERTS_FILE]);
  t.after(() => prometheus.stop());
  const { platform } = watched;
  const tenant = await createTenant(platform);
  const why = () => `prometheus log:\n${prometheus.log()}`;

  await eventually(async () => {
    const { activeTargets } = await prometheus.api<{ activeTargets: Target[] }>('targets');
    return activeTargets.length === 2 && activeTargets.every((x) => x.health === 'up');
  }, { timeoutMs: 30_000, what: 'both targets scraped and up' });
  const { activeTargets } = await prometheus.api<{ activeTargets: Target[] }>('targets');
  assert.deepEqual(activeTargets.map((x) => [x.labels.job, x.labels.namespace]).sort(), [['api', NAMESPACE], ['worker', NAMESPACE]]);

  // healthy traffic first: with every target up and nothing failing, no alert may even be pending
  for (let i = 0; i < 5; i++) assert.equal((await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa))).status, 201);
  const since = Date.now();
  const rulesEvaluatedSince = async (ms: number) => {
    const { groups } = await prometheus.api<{ groups: Array<{ rules: Rule[] }> }>('rules');
    const rules = groups.flatMap((g) => g.rules);
    return rules.length === names.length && rules.every((r) => Date.parse(r.lastEvaluation) > ms);
  };
  await eventually(() => rulesEvaluatedSince(since + 2_000), { timeoutMs: 30_000, what: 'every rule evaluated after the healthy traffic' });
  const quiet = await prometheus.api<{ alerts: Alert[] }>('alerts');
  assert.deepEqual(quiet.alerts.map((a) => `${a.labels.alertname} ${a.state}`), [], `healthy platform; ${why()}`);

  // about one authorization in six fails at the processor (the adapter tries a call three times; 55 % of answers
  // failing fails 17 % of calls): rarely five in a row, so the breaker stays closed and calls keep being counted
  await sandboxControl(platform, { error_rate: 0.55 });
  const flaky = keepSending(2, async () => `payment ${(await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa))).status}`);
  try {
    await eventually(async () => {
      const { alerts } = await prometheus.api<{ alerts: Alert[] }>('alerts');
      return alerts.some((a) => a.labels.alertname === 'NimbusPayProcessorErrorRate' && a.labels.operation === 'authorize'
        && a.labels.namespace === NAMESPACE && ['pending', 'firing'].includes(a.state));
    }, { timeoutMs: 60_000, what: 'NimbusPayProcessorErrorRate pending for authorize' });
  } finally {
    await flaky.stop();
    await sandboxControl(platform, { error_rate: 0 });
  }
  assert.ok([...flaky.counts.keys()].some((k) => k === 'payment 201'), `payments went through: ${JSON.stringify([...flaky.counts])}`);

  // the worker goes away: Prometheus' own `up` for its target drops to 0, and both rules on it see that
  await watched.stopWorker();
  await eventually(async () => {
    const { alerts } = await prometheus.api<{ alerts: Alert[] }>('alerts');
    const down = (name: string) => alerts.some((a) => a.labels.alertname === name && a.labels.job === 'worker' && a.labels.namespace === NAMESPACE);
    return down('NimbusPayTargetDown') && down('NimbusPayServiceUnavailable');
  }, { timeoutMs: 30_000, what: 'NimbusPayTargetDown and NimbusPayServiceUnavailable pending for the worker' });
  const { alerts } = await prometheus.api<{ alerts: Alert[] }>('alerts');
  assert.deepEqual(alerts.find((a) => a.labels.alertname === 'NimbusPayTargetDown')?.labels.pod, 'nimbuspay-worker-0');

  // every rule of the committed file, evaluated on real series: loaded, and no evaluation error
  const { groups } = await prometheus.api<{ groups: Array<{ rules: Rule[] }> }>('rules');
  const rules = groups.flatMap((g) => g.rules);
  assert.deepEqual(rules.map((r) => r.name).sort(), names);
  assert.deepEqual(rules.filter((r) => r.health !== 'ok' || r.lastError).map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), [], why());
});
