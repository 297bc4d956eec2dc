/**
 * Every operation of /openapi.json gets generated malformed input (types, bounds, encodings, control characters,
 * huge and deep bodies, duplicate and prototype keys, content types, header and framing abuse, path and query
 * abuse), as the owning tenant, as another tenant and without credentials, over raw sockets. Each answer must be
 * below 500, in the error model (RFC 6749's at the token endpoint) with X-Request-Id = request_id, never a success
 * for input the API must refuse, and a refused request must leave every table as it was.
 *
 * Seeded: FUZZ_SEED=<n> npm test -- test/fuzz replays a run; FUZZ_RUNS=<k> sends k times as many cases;
 * FUZZ_OPS=<substring> fuzzes only the matching operations (e.g. FUZZ_OPS='POST /v1/payments').
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { drainHandlers, listRoutes } from '../../src/platform/http/app.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { caseArbitraries, type FuzzCase, type FuzzEnv } from './fuzz-cases.js';
import { createFixtures, identityHeaders, tokenFor, type FuzzFixtures } from './fuzz-fixtures.js';
import { judge, judgeWrites, type Who } from './fuzz-oracles.js';
import { changedTables, watchTables, type TableWatch } from './db-state.js';
import { readOperations, type Operation } from './openapi-model.js';
import { sendRaw, type WireResponse } from './raw-http.js';

// A fixed seed by default, so a red run is the code's doing and replays as it was; FUZZ_SEED=random explores.
const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));
const ONLY = process.env.FUZZ_OPS;
const WHO: readonly Who[] = ['owner', 'other', 'none'];

/** Tables a refused request writes on purpose. */
const WRITTEN_WHEN_REFUSED: Record<string, readonly string[]> = {
  // the request log records every request, refused ones included (support console, kept 14 days)
  '*': ['public.api_requests'],
  // failed client authentications are counted per client id and per address to lock out guessing
  'POST /oauth/token': ['public.client_auth_failures', 'public.client_auth_source_failures'],
};

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface Failure {
  c: FuzzCase;
  who: Who;
  res: WireResponse | undefined;
  problems: string[];
}

function describeFailure(op: Operation, f: Failure): string {
  const status = f.res ? `${f.res.status} ${f.res.text.slice(0, 300)}` : '(no answer)';
  return `  [${f.c.category}] as ${f.who}: ${f.c.what}\n    ${op.method} ${f.c.path.slice(0, 120)}${f.c.query ? `?${f.c.query.slice(0, 120)}` : ''}\n    → ${status}\n    ✗ ${f.problems.join('; ')}`;
}

test('OpenAPI-driven fuzz: no 5xx, always the error model, refused requests write nothing', async (t) => {
  let platform: TestPlatform | undefined;
  let watch: TableWatch | undefined;
  t.after(async () => {
    await watch?.close();
    await platform?.close();
  });
  t.diagnostic(`FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
  platform = await startTestPlatform();
  const port = Number(new URL(platform.baseUrl).port);
  const fx: FuzzFixtures = await createFixtures(platform);
  const doc = await (await fetch(`${platform.baseUrl}/openapi.json`)).json();
  const { operations, resolve } = readOperations(doc);

  // The document is the list of what gets fuzzed: a route missing from it would escape the fuzz test.
  const documented = new Set(operations.map((o) => o.key));
  const registered = listRoutes(platform.api.app)
    .filter((r) => !r.hidden && (r.url.startsWith('/v1/') || r.url.startsWith('/oauth/') || r.url.startsWith('/.well-known/')))
    .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
  assert.deepEqual(registered.filter((k) => !documented.has(k)), [], 'registered API routes missing from /openapi.json');

  const env: FuzzEnv = { resolve, ownerIds: fx.ownerIds, foreignIds: fx.foreignIds, tokenFor: (op, who) => tokenFor(fx, op, who) };
  watch = await watchTables(platform.db.ownerUrl, ['public', 'sandbox_processor'], new Set(WRITTEN_WHEN_REFUSED['*']), { 'public.signing_keys': 'kid' });
  let state = await watch.snapshot();
  const selected = operations.filter((o) => !ONLY || o.key.includes(ONLY));
  let fuzzed = 0;
  let sent = 0;
  const spent = { sending: 0, reading: 0 };

  for (const op of selected) {
    await t.test(op.key, async () => {
      const failures: Failure[] = [];
      const allowed = new Set(WRITTEN_WHEN_REFUSED[op.key] ?? []);
      for (const { category, arb } of caseArbitraries(op, env)) {
        const cases = fc.sample(arb, { seed: (SEED ^ hash(`${op.key} ${category}`)) | 0, numRuns: WHO.length * RUNS });
        for (const [i, c] of cases.entries()) {
          const who = WHO[i % WHO.length]!;
          const headers = [...(c.ownAuth ? [] : identityHeaders(fx, op, who, c.body)), ...c.headers];
          const target = `${c.path}${c.query ? `?${c.query}` : ''}`;
          let res: WireResponse | undefined;
          const problems: string[] = [];
          const started = performance.now();
          try {
            res = await sendRaw(port, { method: op.method, target, headers, ...(c.body ? { body: c.body } : {}), ...(c.frame !== undefined ? { frame: c.frame } : {}) });
            problems.push(...judge(op, c, who, res, resolve));
          } catch (err) {
            problems.push((err as Error).message);
          }
          sent++;
          const answered = performance.now();
          spent.sending += answered - started;
          // a handler may outlive its answer (its client hung up): let it finish before reading the tables
          await drainHandlers(platform!.api.app, 10_000);
          const next = await watch!.snapshot();
          spent.reading += performance.now() - answered;
          problems.push(...judgeWrites(op, c, who, res, changedTables(state, next), allowed, resolve));
          state = next;
          if (problems.length > 0) failures.push({ c, who, res, problems });
        }
      }
      fuzzed++;
      if (failures.length > 0) {
        assert.fail([
          `${failures.length} failing case(s) for ${op.key}; replay: FUZZ_SEED=${SEED} FUZZ_OPS='${op.key}' npm test -- test/fuzz/openapi-fuzz`,
          ...failures.slice(0, 12).map((f) => describeFailure(op, f)),
          ...(failures.length > 12 ? [`  … and ${failures.length - 12} more`] : []),
        ].join('\n'));
      }
    });
  }
  t.diagnostic(`${sent} requests: ${Math.round(spent.sending / 1000)} s sending, ${Math.round(spent.reading / 1000)} s reading the tables`);
  assert.equal(fuzzed, ONLY ? selected.length : operations.length, 'every documented operation was fuzzed');
});
