import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { withTenantTx } from '../../src/platform/db.js';
import { flagLostDebit, clearLostDebitAttention } from '../../src/modules/payments/bank-transfers.repository.js';
import { freePort } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery, post } from '../payments/helpers.js';
import { ACCOUNTS, createTransfer } from '../bank/helpers.js';
import { createEndpoint, emitEvent, startReceiver, type Receiver } from '../webhooks/helpers.js';
import { allSelectors, loadAlertGroups, OTHER_EXPORTER_SERIES, podMonitorJobs, rulesWithoutAnnotations, selectorProblems, type RuleGroup } from './support/alert-rules.js';
import { labelledSamples, type TargetScrape } from './support/exposition.js';
import { inputSeries, type Phase } from './support/promtool-input.js';
import { promtoolTestFile, runPromtool, type ExpectedAlert, type PromtoolTestGroup } from './support/promtool.js';
import { keepSending, tokenRequest } from './support/traffic.js';
import { NAMESPACE, recordScrapes, sampleValue, startWatchedPlatform, type WatchedPlatform } from './support/watched-platform.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

// The alert rules (deploy/prometheus/alerts.yml) run by promtool on series built from the real platform's /metrics:
// each scenario drives real traffic and faults, scrapes the api and the worker as the PodMonitors do, and
// extrapolates the scrapes over the minutes the rules need (support/promtool-input.ts says how). Faults come
// from the sandbox's /_control knobs, loopback webhook receivers that fail, a cut link between worker and
// processor, and a table lock. Two conditions need time a test cannot wait for, and get it from the database
// instead: the lost-debit flag is written by the app's own flagLostDebit (its 10-minute grace window is covered
// by test/bank/lost-debit.test.ts), and late webhook deliveries are deliveries backdated 10 minutes (as if their
// receiver had failed that long), then really delivered, so the worker measures their lag itself.

const SCRAPE_EVERY_MS = 1_000;
/** the PodMonitors' scrape interval (deploy/k8s/base/podmonitor.yaml) and the usual rule evaluation interval */
const INTERVAL_S = 30;
/** 65 minutes of "before": `offset 1h` (endpoints disabled in the last hour) must land in it */
const BASELINE_STEPS = 130;
/** 35 minutes of fault: the longest rule (webhook backlog: deriv over 15m, for 15m) has fired by then */
const FAULT_STEPS = 70;
const END_OF_BASELINE = `${(BASELINE_STEPS - 1) * INTERVAL_S}s`;
const FAULT_EVAL = `${BASELINE_STEPS * INTERVAL_S + 32 * 60}s`;
const LATE_DELIVERY_AGE = "interval '10 minutes'";

interface Scenario {
  name: string;
  baseline: Phase;
  fault: Phase;
  expected: ExpectedAlert[];
  /** Alerts a quiet scenario does not assert quiet (see slowApiShare). */
  notAsserted?: string[];
}

/**
 * The share of the API's requests (probes aside) slower than 1 s over the recorded scrapes: 1 s is the largest
 * histogram bucket under NimbusPayApiHighLatency's 2 s, so from 1 % on the p99 may truly be above 2 s. That is the
 * machine's speed (two shared cores running other test files), not the platform's health: the latency alert firing
 * on such a recording is right, so the healthy scenario does not assert it quiet then (and says so).
 */
function slowApiShare(scrapes: TargetScrape[]): number {
  const api = scrapes.filter((s) => s.target.labels.job === 'api');
  const first = api[0];
  const last = api.at(-1);
  if (!first || !last) return 0;
  const total = (scrape: TargetScrape, le?: string) => scrape.exposition.samples
    .filter((x) => x.name === (le === undefined ? 'http_request_duration_seconds_count' : 'http_request_duration_seconds_bucket')
      && !/^\/(healthz|readyz)$/.test(x.labels.route ?? '') && (le === undefined || x.labels.le === le))
    .reduce((sum, x) => sum + x.value, 0);
  const requests = total(last) - total(first);
  const underOneSecond = total(last, '1') - total(first, '1');
  return requests > 0 ? (requests - underOneSecond) / requests : 0;
}

function alertNames(groups: RuleGroup[]): string[] {
  return groups.flatMap((g) => g.rules.map((r) => r.alert));
}

describe('ops: alert rules on the series the platform really exports', () => {
  let watched: WatchedPlatform;
  let groups: RuleGroup[];
  const receivers: Receiver[] = [];
  const scenarios: Scenario[] = [];
  let slowMachineNote: string | undefined;
  const allScrapes: TargetScrape[] = [];
  let lock: pg.Client | undefined;

  const record = async (rounds: number): Promise<Phase> => {
    const scrapes = await recordScrapes(watched.targets, rounds, SCRAPE_EVERY_MS);
    allScrapes.push(...scrapes);
    return { scrapes };
  };
  const receiver = async (): Promise<Receiver> => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };
  const workerGauge = async (name: string, labels: Record<string, string> = {}) => {
    const [, worker] = await recordScrapes(watched.targets, 1, 0);
    return sampleValue([worker!], name, labels) ?? 0;
  };
  const apiGauge = async (name: string, labels: Record<string, string> = {}) => {
    const [api] = await recordScrapes(watched.targets, 1, 0);
    return sampleValue([api!], name, labels) ?? 0;
  };

  before(async () => {
    groups = await loadAlertGroups();
    const jobs = await podMonitorJobs();
    assert.deepEqual([...jobs].sort(), ['api', 'worker'], 'the PodMonitors name the jobs the rules select on');
    watched = await startWatchedPlatform({ api: 'api', worker: 'worker' }, {
      // small enough for a handful of held requests to exhaust the api's pool
      DB_POOL_MAX: '3',
      // slow-but-successful processor answers (2.5 s) must not time out; a lost answer (held 6 s) must
      PROCESSOR_TIMEOUT_MS: '4000',
      SANDBOX_LOST_RESPONSE_DELAY_MS: '6000',
      // a failed delivery is retried after 3 s, then not for 10 minutes: failures keep deliveries pending
      WEBHOOK_RETRY_SCHEDULE_MS: '3000,600000',
    });
    const { platform } = watched;
    const shop = await createTenant(platform, { name: 'Healthy Shop' });
    const ops = await createTenant(platform, { name: 'Payments Under Fault' });
    const shopHooks = await receiver();
    await createEndpoint(platform, shop.token, { url: shopHooks.url });
    const transfer = await createTransfer(platform, shop.token, ACCOUNTS.settles);
    const payment = (tenant: TestTenant, card: string) => async () => {
      const res = await post(platform, tenant.token, '/v1/payments', cardBody(card));
      return `payment ${res.status} ${res.body?.status ?? res.body?.error?.code ?? ''}`;
    };

    // ---- healthy: payments (approved and declined), reads, tokens (one typo in thirty), probes, webhooks
    let n = 0;
    const healthy = keepSending(2, async () => {
      const i = n++;
      switch (i % 6) {
        case 0: return payment(shop, CARDS.visa)();
        case 1: return payment(shop, CARDS.declined)();
        case 2: return `list ${(await platform.request('GET', '/v1/payments?limit=5', { token: shop.token })).status}`;
        case 3: return tokenRequest(platform, shop.clientId, i % 30 === 3 ? 'a-typo' : shop.clientSecret);
        case 4: return `readyz ${(await platform.request('GET', '/readyz')).status}`;
        default: return `healthz ${(await platform.request('GET', '/healthz')).status}`;
      }
    });
    const healthyScrapes = await record(8);
    await healthy.stop();
    assert.ok(![...healthy.counts.keys()].some((k) => / 5\d\d/.test(k) || k.startsWith('error')), `healthy traffic: ${JSON.stringify([...healthy.counts])}`);
    const slowShare = slowApiShare(healthyScrapes.scrapes);
    if (slowShare >= 0.01) {
      slowMachineNote = `${(slowShare * 100).toFixed(1)} % of the healthy API requests took over 1 s (a busy machine): NimbusPayApiHighLatency not asserted quiet`;
    }
    scenarios.push({
      name: 'healthy traffic',
      baseline: { scrapes: healthyScrapes.scrapes.slice(0, healthyScrapes.scrapes.length / 2) },
      fault: { scrapes: healthyScrapes.scrapes.slice(healthyScrapes.scrapes.length / 2) },
      expected: [],
      ...(slowShare >= 0.01 ? { notAsserted: ['NimbusPayApiHighLatency'] } : {}),
    });

    // ---- slow processor answers, lost answers the worker cannot resolve (its link to the processor is cut)
    {
      const baseline = await record(2);
      await sandboxControl(platform, { latency_ms: 2500 });
      watched.workerProcessorLink.cut();
      const slow = keepSending(3, payment(ops, CARDS.visa));
      try {
        const lost = await Promise.all([1, 2].map(() => post(platform, ops.token, '/v1/payments', cardBody(CARDS.lostResponse))));
        for (const res of lost) assert.equal(res.body?.status, 'processing', res.text);
        await eventually(async () => (await workerGauge('nimbuspay_payments_processing_oldest_age_seconds', { method: 'card' })) > 0, { timeoutMs: 60_000, what: 'worker sees the card payment processing' });
        const fault = await record(12);
        scenarios.push({
          name: 'slow processor and lost answers',
          baseline,
          fault,
          expected: [
            { alert: 'NimbusPayApiHighLatency', labels: { namespace: NAMESPACE, severity: 'warning' } },
            { alert: 'NimbusPayPaymentsStuckProcessing', labels: { namespace: NAMESPACE, method: 'card', severity: 'critical' } },
          ],
        });
      } finally {
        await slow.stop();
        await sandboxControl(platform, { latency_ms: 0 });
        watched.workerProcessorLink.restore();
      }
    }

    // ---- the processor fails one authorization in eight: rarely five in a row (the breaker stays closed), more
    //      than the rule's 5 % (the adapter tries a call three times, so half of the answers failing fails 12.5 %)
    {
      const baseline = await record(2);
      await sandboxControl(platform, { error_rate: 0.5 });
      const flaky = keepSending(3, payment(ops, CARDS.visa));
      try {
        const fault = await record(8);
        assert.ok((flaky.counts.get('payment 201 failed') ?? 0) > 0, `some payments failed: ${JSON.stringify([...flaky.counts])}`);
        scenarios.push({
          name: 'processor failing some calls',
          baseline,
          fault,
          expected: [{ alert: 'NimbusPayProcessorErrorRate', labels: { namespace: NAMESPACE, operation: 'authorize', severity: 'warning' } }],
        });
      } finally {
        await flaky.stop();
        await sandboxControl(platform, { error_rate: 0 });
      }
    }

    // ---- the processor fails everything (the api's breaker opens and stays open: it refuses card payments with
    //      503 before calling, so authorize calls stop being recorded and the error-rate alert is not expected from
    //      the api here, see alerts.yml); credential stuffing; webhook receivers down, gone (410) and late;
    //      a payment flagged for an operator
    {
      const stuffing = await createTenant(platform, { name: 'Stuffed' });
      const backlogTenant = await createTenant(platform, { name: 'Receiver Down' });
      const goneTenant = await createTenant(platform, { name: 'Receiver Gone' });
      const lateTenant = await createTenant(platform, { name: 'Receiver Late' });
      const down = `http://127.0.0.1:${await freePort()}/hooks`; // nothing listens there
      for (let i = 0; i < 3; i++) await createEndpoint(platform, backlogTenant.token, { url: down });
      const gone = await receiver();
      gone.respond((_req, res) => { res.writeHead(410).end('gone'); });
      for (let i = 0; i < 6; i++) await createEndpoint(platform, goneTenant.token, { url: gone.url });
      const late = await receiver();
      const seen = new Set<string>();
      late.respond((req, res) => {
        const id = String(req.headers['webhook-id']);
        res.writeHead(seen.has(id) ? 200 : 503).end();
        seen.add(id);
      });
      const lateEndpoint = await createEndpoint(platform, lateTenant.token, { url: late.url });

      const baseline = await record(2);
      await sandboxControl(platform, { error_rate: 1 });
      const failing = keepSending(2, payment(ops, CARDS.visa));
      const stuffer = keepSending(2, () => tokenRequest(platform, stuffing.clientId, `guess-${Math.random()}`));
      const backlog = keepSending(1, async () => {
        await emitEvent(platform, backlogTenant.tenantId);
        return 'event';
      });
      // Deliveries the worker failed once (503), made 10 minutes old, then delivered on their retry.
      const lateDeliveries = keepSending(1, async () => {
        await emitEvent(platform, lateTenant.tenantId);
        await ownerQuery(platform, `UPDATE webhook_deliveries SET created_at = now() - ${LATE_DELIVERY_AGE}
          WHERE endpoint_id = $1 AND status = 'pending' AND created_at > now() - interval '1 minute'`, [lateEndpoint.id]);
        await new Promise((r) => setTimeout(r, 200));
        return 'late event';
      });
      try {
        await Promise.all(Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 50; i++) await emitEvent(platform, backlogTenant.tenantId);
        }));
        await emitEvent(platform, goneTenant.tenantId);
        await eventually(async () => (await ownerQuery<{ n: number }>(platform, `SELECT count(*)::int AS n FROM webhook_endpoints WHERE status = 'disabled'`))[0]!.n === 6, { timeoutMs: 60_000, what: 'the six gone endpoints disabled' });
        await withTenantTx(platform.database.db, shop.tenantId, (tx) => flagLostDebit(tx, shop.tenantId, transfer.id, {
          attentionSince: new Date(), backoffStep: 1, nextPollAt: new Date(Date.now() + 3_600_000),
        }));
        await eventually(async () => (await apiGauge('nimbuspay_processor_circuit_state')) >= 1, { timeoutMs: 60_000, what: 'api circuit breaker open' });
        await eventually(async () => (await workerGauge('nimbuspay_webhook_deliveries_pending')) > 1000, { timeoutMs: 60_000, what: 'webhook backlog above 1000' });
        // the gauge job refreshes every few seconds: a fault phase recorded before it has seen the six would replay
        // 0 and 6 in turn, and the `for: 5m` of the spike alert would never hold
        await eventually(async () => (await workerGauge('nimbuspay_webhook_endpoints_disabled')) === 6, { timeoutMs: 60_000, what: 'six disabled endpoints counted' });
        await eventually(async () => (await workerGauge('nimbuspay_payments_needing_attention', { reason: 'processor_lost_debit' })) > 0, { timeoutMs: 60_000, what: 'lost debit counted' });
        const fault = await record(12);
        const ns = { namespace: NAMESPACE };
        scenarios.push({
          name: 'processor failing, token stuffing, webhook receivers failing, a lost debit',
          baseline,
          fault,
          expected: [
            { alert: 'NimbusPayProcessorCircuitOpen', labels: { ...ns, severity: 'critical' } },
            { alert: 'NimbusPayApiHighErrorRate', labels: { ...ns, severity: 'critical' } },
            { alert: 'NimbusPayTokenEndpointFailureSpike', labels: { ...ns, severity: 'warning' } },
            { alert: 'NimbusPayWebhookBacklogGrowing', labels: { ...ns, severity: 'warning' } },
            { alert: 'NimbusPayWebhookDeliveryLagHigh', labels: { ...ns, severity: 'warning' } },
            { alert: 'NimbusPayWebhookEndpointsDisabledSpike', labels: { ...ns, severity: 'warning' } },
            { alert: 'NimbusPayPaymentNeedsAttention', labels: { ...ns, reason: 'processor_lost_debit', severity: 'warning' } },
          ],
        });
      } finally {
        await Promise.all([failing.stop(), stuffer.stop(), backlog.stop(), lateDeliveries.stop()]);
        await sandboxControl(platform, { error_rate: 0 });
        await withTenantTx(platform.database.db, shop.tenantId, (tx) => clearLostDebitAttention(tx, shop.tenantId, transfer.id));
      }
    }

    // ---- a long transaction locks the payments table: the api's requests hold all 3 pooled connections, the
    //      rest queue for one
    {
      const baseline = await record(2);
      lock = new pg.Client({ connectionString: platform.db.ownerUrl });
      await lock.connect();
      await lock.query('BEGIN; LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
      const reads = keepSending(8, async () => `list ${(await platform.request('GET', '/v1/payments?limit=1', { token: shop.token })).status}`);
      try {
        await eventually(async () => (await apiGauge('nimbuspay_db_pool_connections', { state: 'waiting' })) > 0, { timeoutMs: 60_000, what: 'api pool queue' });
        const fault = await record(6);
        const [apiTarget] = watched.targets;
        scenarios.push({
          name: 'database pool exhausted',
          baseline,
          fault,
          expected: [{ alert: 'NimbusPayDbPoolSaturation', labels: { ...apiTarget!.labels, role: 'api', state: 'waiting', severity: 'warning' } }],
        });
      } finally {
        await lock.query('ROLLBACK');
        await lock.end();
        lock = undefined;
        await reads.stop();
      }
    }

    // ---- the Stripe adapter, for the one outcome the sandbox never writes: a lookup Stripe's search cannot
    //      answer yet (an authorization it never recorded, looked up inside the consistency window)
    {
      const stripe = await startWatchedPlatform({ api: 'api', worker: 'worker' }, { STRIPE_SEARCH_CONSISTENCY_MS: '60000' }, 'stripe');
      try {
        const tenant = await createTenant(stripe.platform);
        await sandboxControl(stripe.platform, { fail_next: { count: 1, mode: 'lost_before', path_prefix: '/v1/payment_intents' } });
        const res = await post(stripe.platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
        assert.equal(res.body?.status, 'processing', res.text);
        const notYet = { operation: 'get_operation_status', outcome: 'unavailable:not_yet_consistent' };
        await eventually(async () => (sampleValue((await recordScrapes(stripe.targets, 1, 0)).slice(1), 'nimbuspay_processor_request_duration_seconds_count', notYet) ?? 0) > 0, { timeoutMs: 20_000, what: 'the worker looked the payment up too early for Stripe search' });
        allScrapes.push(...(await recordScrapes(stripe.targets, 1, 0)));
      } finally {
        await stripe.close();
      }
    }
  });

  after(async () => {
    await lock?.end().catch(() => {});
    for (const r of receivers) await r.close();
    await watched?.close();
  });

  it('every metric name and label matcher in alerts.yml exists in the scraped output (other exporters listed)', () => {
    const selectors = allSelectors(groups);
    const scraped = allScrapes.flatMap(labelledSamples);
    assert.deepEqual(selectorProblems(selectors, scraped), []);
    // the exception list must not rot: each entry is still used by a rule and still absent from the app
    for (const name of Object.keys(OTHER_EXPORTER_SERIES)) {
      assert.ok(selectors.some((s) => s.metric === name), `${name} is listed as another exporter's series but no rule uses it`);
      assert.ok(!scraped.some((s) => s.name === name), `${name} is listed as another exporter's series but the app exports it`);
    }
  });

  it('promtool: healthy traffic raises no alert; each fault raises its alerts with the expected labels', async (t) => {
    if (slowMachineNote) t.diagnostic(slowMachineNote);
    const used = new Set(allSelectors(groups).map((s) => s.metric));
    const shape = { intervalSeconds: INTERVAL_S, baselineSteps: BASELINE_STEPS, faultSteps: FAULT_STEPS };
    const names = alertNames(groups);
    const testGroups: PromtoolTestGroup[] = scenarios.map((s) => ({
      name: s.name,
      intervalSeconds: INTERVAL_S,
      series: inputSeries(s.baseline, s.fault, (name) => used.has(name), shape),
      ...(s.expected.length === 0
        ? { quiet: { alerts: names.filter((a) => !s.notAsserted?.includes(a)), at: ['30m', END_OF_BASELINE, FAULT_EVAL] } }
        : { firing: { alerts: s.expected, at: FAULT_EVAL } }),
    }));
    assert.equal(testGroups.length, 5);
    const covered = new Set(scenarios.flatMap((s) => s.expected.map((e) => e.alert)));
    const notDriven = names.filter((a) => !covered.has(a)).sort();
    // Only the alerts on other exporters' series are not driven from app traffic here: the two on `up` go pending
    // in test/ops/prometheus-scrape.test.ts, where a real Prometheus writes `up` for a worker that went away;
    // NimbusPayNoReadyReplicas needs kube-state-metrics, which no test runs (alerts.test.yml has its unit test).
    assert.deepEqual(notDriven, ['NimbusPayNoReadyReplicas', 'NimbusPayServiceUnavailable', 'NimbusPayTargetDown']);
    const result = await runPromtool(rulesWithoutAnnotations(groups), promtoolTestFile('rules.yml', INTERVAL_S, testGroups));
    if (result.code === 0) await rm(result.dir, { recursive: true, force: true });
    assert.equal(result.code, 0, `promtool test rules failed (files kept in ${result.dir}):\n${result.output}`);
  });
});
