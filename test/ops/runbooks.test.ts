import { before, after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { checkRunbook } from './runbook-check.js';
import { collectLogFields, declaredLogKeys, exerciseLogs, exposedLabels, registeredLabels, type SystemFacts } from './runbook-facts.js';
import { parseExposition } from './support/exposition.js';
import { fencedBlocks, inlineCode, insightsFields, promQueries, shellLogFields, sqlStatements } from './runbook-extract.js';

const root = path.resolve(import.meta.dirname, '../..');
const runbookDir = path.join(root, 'docs/runbooks');

// Every command in docs/runbooks is checked against the code it talks about: metric names and labels against a
// real scrape of a running platform (and its registered metrics), log fields against the platform's real log
// lines, SQL by planning it (EXPLAIN) in a migrated database.
describe('runbook commands match the running system', () => {
  let platform: TestPlatform;
  let facts: SystemFacts;
  let db: pg.Client;
  let tables: Set<string>;

  before(async () => {
    platform = await startTestPlatform({ worker: true });
    await exerciseLogs(platform);
    const metrics = new Map<string, Set<string>>();
    const scrape = await fetch(`${platform.baseUrl}/metrics`);
    assert.equal(scrape.status, 200);
    exposedLabels(parseExposition(await scrape.text()), metrics);
    await registeredLabels(platform, metrics);
    const logFields = new Map<string, Set<string>>();
    collectLogFields(platform.logs.records(), logFields);
    facts = { metrics, logFields, declaredLogFields: await declaredLogKeys(path.join(root, 'src')) };
    db = new pg.Client({ connectionString: platform.db.ownerUrl });
    await db.connect();
    const { rows } = await db.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema in ('public', 'pg_catalog')",
    );
    tables = new Set(rows.map((r) => r.table_name));
    await db.query('begin read only');
    await db.query("select set_config('app.cross_tenant', 'on', true)");
  });
  after(async () => {
    await db?.query('rollback').catch(() => {});
    await db?.end().catch(() => {});
    await platform?.close();
  });

  it('the facts are real: the scrape, the logs and the schema were read', () => {
    assert.ok(facts.metrics.has('http_request_duration_seconds_count'));
    assert.ok(facts.metrics.get('nimbuspay_db_pool_connections')?.has('state'));
    assert.deepEqual([...facts.logFields.get('level')!], ['string']);
    assert.ok(facts.logFields.get('status_code')?.has('number'));
    assert.ok(facts.logFields.has('err.message'), 'a 5xx line was provoked');
    assert.ok(tables.has('payments') && tables.has('pg_stat_activity'));
  });

  it('every runbook', async () => {
    const files = (await readdir(runbookDir)).filter((f) => f.endsWith('.md')).sort();
    assert.ok(files.length >= 15, 'the runbooks were found');
    const problems: string[] = [];
    const seen = { promql: 0, sql: 0, logFields: 0 };
    for (const file of files) {
      const markdown = await readFile(path.join(runbookDir, file), 'utf8');
      for (const p of await checkRunbook(markdown, facts, db, tables)) problems.push(`${file} ${p}`);
      for (const b of fencedBlocks(markdown)) {
        if (b.lang === 'promql') seen.promql += promQueries(b.text).length;
        if (b.lang === 'sql') seen.sql += sqlStatements(b.text).filter((s) => !s.control).length;
        if (b.lang === 'logsinsights') seen.logFields += insightsFields(b.text).length;
        if (b.lang === 'sh') seen.logFields += b.text.split('\n').flatMap(shellLogFields).length;
      }
      seen.logFields += inlineCode(markdown).flatMap((s) => shellLogFields(s.text)).length;
    }
    assert.deepEqual(problems, []);
    // the checks above looked at something: a silent extractor would pass every runbook
    assert.ok(seen.promql >= 40 && seen.sql >= 10 && seen.logFields >= 60, JSON.stringify(seen));
  });

  it('fails on the wrong commands the runbooks used to carry', async () => {
    const old = [
      "3. **Which error?** `k logs -l app.kubernetes.io/component=api --since=10m | grep '\"level\":50'`",
      "   `k logs -l app.kubernetes.io/component=api --since=15m | grep oauth/token | grep -v '\"statusCode\":200'`.",
      '```sql',
      "SELECT id, tenant_id, url, disabled_at, disabled_reason FROM webhook_endpoints WHERE status = 'disabled';",
      'SELECT currency, sum(amount_minor) FROM payments GROUP BY currency;',
      '```',
      '```promql',
      'sum by (route, statusCode) (rate(http_request_duration_seconds_count{status_code=~"5.."}[5m]))',
      'max(nimbuspay_webhook_deliveries_backlog{namespace="$NS"})',
      'sum by (outcome) (rate(nimbuspay_processor_requests_total{processor="stripe"}[5m]))',
      '```',
      '```logsinsights',
      'fields @timestamp, request_id | filter level = 50 and statusCode >= 500',
      '```',
    ].join('\n');
    const problems = await checkRunbook(old, facts, db, tables);
    const expect = [
      /log field level is compared with 50 \(number\), but the logs write it as string/,
      /log field statusCode \(grep\)/,
      /column "disabled_at" does not exist/,
      /column "amount_minor" does not exist/,
      /no metric of the query has label statusCode/,
      /metric nimbuspay_webhook_deliveries_backlog is not exposed/,
      /metric nimbuspay_processor_requests_total is not exposed/,
      /log field level is compared with 50 \(number\).*logsinsights/,
      /log field statusCode \(logsinsights\)/,
    ];
    for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `expected a problem matching ${re}, got:\n${problems.join('\n')}`);
    assert.equal(problems.length, expect.length, problems.join('\n'));
  });

  it('accepts the corrected forms of the same commands', async () => {
    const fixed = [
      "`k logs -l app.kubernetes.io/component=api --since=10m | grep '\"level\":\"error\"'`",
      "`k logs -l app.kubernetes.io/component=api --since=15m | jq -c 'select(.route == \"/oauth/token\" and .status_code != 200)'`",
      '```sql',
      "SELECT id, tenant_id, url, updated_at, disabled_reason FROM webhook_endpoints WHERE status = 'disabled';",
      'SELECT currency, sum(amount) FROM payments GROUP BY currency;',
      '```',
      '```promql',
      'sum by (route, status_code) (rate(http_request_duration_seconds_count{job="api", status_code=~"5.."}[5m]))',
      '```',
      '```logsinsights',
      'fields @timestamp, request_id, err.message | filter level = "error" and status_code >= 500 and kubernetes.pod_name like /api/',
      '```',
    ].join('\n');
    assert.deepEqual(await checkRunbook(fixed, facts, db, tables), []);
  });
});

describe('runbook extraction', () => {
  it('finds metric names and labels in PromQL, not functions, keywords or durations', () => {
    const [q] = promQueries('histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{job="api", namespace="$NS"}[5m]))) offset 1h');
    assert.deepEqual(q!.selectors, [{ metric: 'http_request_duration_seconds_bucket', labels: ['job', 'namespace'] }]);
    assert.deepEqual(q!.groupingLabels, ['route', 'le']);
  });

  it('finds log fields in grep, jq and Logs Insights', () => {
    assert.deepEqual(shellLogFields(`k logs x | jq -c 'select(.latency_ms > 2000) | {time, route}'`), [
      { path: 'latency_ms', literal: 2000, source: 'jq' },
      { path: 'time', source: 'jq' },
      { path: 'route', source: 'jq' },
    ]);
    assert.deepEqual(shellLogFields(`k logs deploy/x | grep '"backoff_step"' | grep -v '"status_code":200'`), [
      { path: 'backoff_step', source: 'grep' },
      { path: 'status_code', literal: 200, source: 'grep' },
    ]);
    assert.deepEqual(shellLogFields(`kubectl logs x | jq -r 'select(.level == "error") | .err.message'`), [
      { path: 'level', literal: 'error', source: 'jq' },
      { path: 'err.message', source: 'jq' },
    ]);
    assert.deepEqual(
      insightsFields('fields @timestamp, msg\n| filter level = "warn" and msg like /rail/\n| stats count(*) as n by bin(5m), tenant_id\n| sort n desc'),
      [
        { path: 'msg', source: 'logsinsights' },
        { path: 'level', literal: 'warn', source: 'logsinsights' },
        { path: 'msg', source: 'logsinsights' },
        { path: 'tenant_id', source: 'logsinsights' },
      ],
    );
  });
});
