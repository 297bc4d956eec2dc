import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, loadMigrationConfig, type Config } from './config.js';
import { SETTINGS, Template, settingsInOrder } from './config-descriptors.js';
import { END, replaceSection } from '../../scripts/readme-config.js';

const productionEnv = {
  NIMBUSPAY_ENV: 'production',
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/nimbuspay',
  NIMBUSPAY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
  NIMBUSPAY_ADMIN_CLIENT_SECRET: 'a-real-secret-of-sufficient-length-123',
  PROCESSOR_NOTIFICATION_SECRET: 'another-real-secret-1234567890',
  NIMBUSPAY_ISSUER_URL: 'https://api.nimbuspay.example',
  SANDBOX_PROCESSOR_URL: 'https://sandbox.processor.example',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.problems];
  }
  return [];
}

test('development defaults parse and the result is frozen', () => {
  const config = loadConfig({});
  assert.equal(config.env, 'development');
  assert.equal(config.port, 3000);
  assert.equal(config.sandboxProcessorPort, 3100);
  assert.equal(config.webhookAllowPrivateTargets, true);
  assert.equal(config.audience, 'nimbuspay-api');
  assert.deepEqual([...config.reconcileIntervalsMs], [10000, 60000, 300000]);
  assert.equal(config.webhookRetryScheduleMs, undefined, 'unset: the webhooks module runs its default schedule');
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.reconcileIntervalsMs));
  assert.throws(() => {
    (config as { port: number }).port = 1;
  });
});

test('the Config type is derived from the table: each key has its parser\'s type, optional where there is no default', () => {
  const config = loadConfig({});
  // Compile-time checks: these assignments fail `npm run typecheck` if a derived type widens or loses a key.
  const port: number = config.port;
  const env: 'development' | 'staging' | 'production' = config.env;
  const processor: 'sandbox' | 'stripe' = config.processor;
  const schedule: readonly number[] | undefined = config.webhookRetryScheduleMs;
  const masterKey: string | undefined = config.masterKey;
  const roles: Readonly<Record<string, 'support_agent' | 'support_operator' | 'platform_admin'>> = config.staffOidcRoleMap;
  // @ts-expect-error a setting without a default may be missing
  const required: string = config.databaseUrl;
  assert.deepEqual([port, env, processor, schedule, masterKey, roles, required], [3000, 'development', 'sandbox', undefined, undefined, {}, undefined]);
  assert.deepEqual(Object.keys(config).sort(), Object.keys(SETTINGS).filter((k) => config[k as keyof Config] !== undefined).sort());
});

test('defaults written in terms of other settings follow them, and URLs lose trailing slashes', () => {
  const config = loadConfig({ PORT: '4000', SANDBOX_PROCESSOR_PORT: '4100', DATABASE_URL: 'postgres://app@db/x' });
  assert.equal(config.publicUrl, 'http://localhost:4000');
  assert.equal(config.issuerUrl, 'http://localhost:4000');
  assert.equal(config.sandboxProcessorUrl, 'http://127.0.0.1:4100');
  assert.equal(config.sandboxNotificationUrl, 'http://localhost:4000/v1/processor_notifications/sandbox');
  assert.equal(config.migrationDatabaseUrl, 'postgres://app@db/x', 'MIGRATION_DATABASE_URL falls back to DATABASE_URL');
  const given = loadConfig({ NIMBUSPAY_PUBLIC_URL: 'https://pay.example//', STRIPE_API_BASE: 'http://127.0.0.1:12111/' });
  assert.equal(given.publicUrl, 'https://pay.example');
  assert.equal(given.issuerUrl, 'https://pay.example');
  assert.equal(given.stripeApiBase, 'http://127.0.0.1:12111');
  assert.equal(loadConfig({ MIGRATION_DATABASE_URL: 'postgres://owner@db/x', DATABASE_URL: 'postgres://app@db/x' }).migrationDatabaseUrl, 'postgres://owner@db/x');
});

test('the table: NIMBUSPAY_ENV first, unique variables, defaults refer only to settings above them', () => {
  const rows = settingsInOrder();
  assert.equal(rows[0]?.[1].variable, 'NIMBUSPAY_ENV', 'per-environment defaults need the environment first');
  const variables = rows.map(([, s]) => s.variable);
  assert.equal(new Set(variables).size, variables.length);
  for (const [index, [, s]] of rows.entries()) {
    assert.match(s.variable, /^[A-Z][A-Z0-9_]*$/);
    assert.equal(s.hasDefault, s.default !== undefined, s.variable);
    assert.ok(!(s.hasDefault && (s.unsetMeans !== undefined || s.fallbackVariable !== undefined)), `${s.variable}: a default and an unset meaning`);
    const above = new Set(variables.slice(0, index));
    if (s.fallbackVariable !== undefined) assert.ok(variables.includes(s.fallbackVariable), `${s.variable}: unknown fallback`);
    if (s.default instanceof Template) {
      for (const [, ref] of s.default.text.matchAll(/\$([A-Z][A-Z0-9_]*)/g)) assert.ok(above.has(ref ?? ''), `${s.variable}: $${ref} is not above it`);
    }
  }
});

test('production refuses every development default and names each setting', () => {
  assert.deepEqual(problemsOf({ NIMBUSPAY_ENV: 'production' }), [
    'DATABASE_URL is required in production (the embedded PostgreSQL is for development only)',
    'NIMBUSPAY_ISSUER_URL=http://localhost:3000 is not allowed in production (tokens and OAuth metadata name it)',
    'NIMBUSPAY_MASTER_KEY is required in production (a generated development key is not allowed)',
    'NIMBUSPAY_ADMIN_CLIENT_SECRET is required in production (a generated development secret is not allowed)',
    'PROCESSOR=sandbox is not allowed in production (configure a real processor adapter)',
    'PROCESSOR_NOTIFICATION_SECRET is required in production',
    'SANDBOX_PROCESSOR_URL points at a loopback sandbox processor, which is not allowed in production',
  ]);
});

test('production refuses development switches when they are set explicitly', () => {
  const problems = problemsOf({
    ...productionEnv, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', NIMBUSPAY_DEMO_TENANT: 'yes', STRIPE_API_BASE: 'http://127.0.0.1:12111',
  });
  assert.ok(problems.includes('WEBHOOK_ALLOW_PRIVATE_TARGETS=true is not allowed in production (SSRF guard)'));
  assert.ok(problems.includes('NIMBUSPAY_DEMO_TENANT=true is not allowed in production (its credentials are printed at start)'));
  assert.ok(problems.includes('STRIPE_API_BASE=http://127.0.0.1:12111 is not allowed in production (it is for tests and local servers only)'));
});

test('production refuses the sandbox processor until a real adapter exists, and nothing else when fully configured', () => {
  const problems = problemsOf(productionEnv);
  assert.deepEqual(problems, ['PROCESSOR=sandbox is not allowed in production (configure a real processor adapter)']);
});

test('Stripe keys: required with PROCESSOR=stripe, a test key refused in production, a live key everywhere else', () => {
  const stripe = { PROCESSOR: 'stripe', STRIPE_SECRET_KEY: 'sk_live_abc', STRIPE_WEBHOOK_SECRETS: 'whsec_abc' };
  assert.deepEqual(problemsOf({ ...productionEnv, ...stripe }), []);
  assert.deepEqual(problemsOf({ ...productionEnv, ...stripe, STRIPE_SECRET_KEY: 'sk_test_abc' }), [
    'STRIPE_SECRET_KEY is a test key (sk_test_…), which is not allowed in production',
  ]);
  assert.deepEqual(problemsOf({ ...stripe, NIMBUSPAY_ENV: 'staging' }), ['STRIPE_SECRET_KEY is a live key (sk_live_…), which is not allowed in staging']);
  assert.deepEqual(problemsOf({ PROCESSOR: 'stripe' }), [
    'STRIPE_SECRET_KEY is required with PROCESSOR=stripe',
    'STRIPE_WEBHOOK_SECRETS is required with PROCESSOR=stripe (the whsec_… secret of the webhook endpoint)',
  ]);
});

test('staging keeps private webhook targets off by default and binds to all interfaces', () => {
  const config = loadConfig({ NIMBUSPAY_ENV: 'staging' });
  assert.equal(config.webhookAllowPrivateTargets, false);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.trustProxyHops, 1);
  assert.equal(config.demoTenant, false);
});

test('bad values are reported by variable name, all at once, quoting what was given', () => {
  const problems = problemsOf({ PORT: 'eighty', ACCESS_TOKEN_TTL_SECONDS: '7200', NIMBUSPAY_ENV: 'prod', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'maybe' });
  assert.deepEqual(problems, [
    "NIMBUSPAY_ENV must be one of development, staging, production (got 'prod')",
    "PORT must be an integer from 0 to 65535 (got 'eighty')",
    "ACCESS_TOKEN_TTL_SECONDS must be an integer from 60 to 3600 (got '7200')",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false (got 'maybe')",
  ]);
});

// The two drifts of the hand-written path→variable map: a path reported instead of the variable, and a value
// that did not survive JSON (NaN → "got null").
test('an error names the real variable and quotes the real input', () => {
  assert.deepEqual(problemsOf({ NIMBUSPAY_ADMIN_CLIENT_ID: 'x'.repeat(65) }), [
    `NIMBUSPAY_ADMIN_CLIENT_ID must be any text, at most 64 characters (got '${'x'.repeat(65)}')`,
  ]);
  assert.deepEqual(problemsOf({ RECONCILE_INTERVALS_MS: 'abc' }), [
    "RECONCILE_INTERVALS_MS must be comma-separated positive integers (milliseconds); entry #1 is not an integer of at least 1 (got 'abc')",
  ]);
  assert.deepEqual(problemsOf({ SANDBOX_ERROR_RATE: 'abc' }), ["SANDBOX_ERROR_RATE must be a number from 0 to 1 (got 'abc')"]);
  assert.deepEqual(problemsOf({ DB_POOL_MAX: '0x10' }), ["DB_POOL_MAX must be an integer from 1 to 200 (got '0x10')"]);
  assert.deepEqual(problemsOf({ AWS_REGION: 'mars', LOGS_INSIGHTS_LOG_GROUP: '/g' }), [
    "AWS_REGION must be an AWS region such as eu-west-1 (got 'mars')",
    'AWS_REGION is required with LOGS_INSIGHTS_LOG_GROUP',
  ]);
});

test('every setting that refuses a value names its own variable and never shows a secret', () => {
  const candidates = ['abc', '-1', '0', '1.5', 'x'.repeat(600), 'http://x', 'a=b', 'whsec_!'];
  for (const [, s] of settingsInOrder()) {
    let refused = 0;
    for (const value of candidates) {
      const problems = problemsOf({ [s.variable]: value }).filter((p) => p.startsWith(`${s.variable} must be `));
      if (problems.length === 0) continue;
      refused += 1;
      for (const p of problems) {
        assert.doesNotMatch(p, /got null|got undefined/, p);
        if (s.secret) {
          assert.ok(p.endsWith('(got <redacted>)'), p);
          assert.ok(!p.includes(value), `${s.variable} shows its secret value: ${p}`);
        } else {
          assert.ok(p.endsWith(`(got '${value}')`), p);
        }
      }
    }
    // Only free text (a path, a URL held in a secret, a claim name) accepts every candidate.
    if (refused === 0) assert.match(s.parser.expects, /^any text/, `${s.variable} refused none of the bad candidates`);
  }
});

test('secrets never appear in a message, whatever is wrong with them', () => {
  const problems = problemsOf({
    NIMBUSPAY_ADMIN_CLIENT_SECRET: 'short-secret-value',
    STRIPE_WEBHOOK_SECRETS: 'whsec_good,bad-secret-value',
    STRIPE_SECRET_KEY: 'pk_live_publishable',
    NIMBUSPAY_MASTER_KEY: 'c2hvcnQ=',
  }).join('\n');
  for (const secret of ['short-secret-value', 'bad-secret-value', 'pk_live_publishable', 'c2hvcnQ=', 'whsec_good']) {
    assert.ok(!problems.includes(secret), `${secret} appears in:\n${problems}`);
  }
  assert.match(problems, /NIMBUSPAY_ADMIN_CLIENT_SECRET must be any text, at least 24 characters \(got <redacted>\)/);
  assert.match(problems, /STRIPE_WEBHOOK_SECRETS must be comma-separated whsec_… secrets; entry #2 is not a whsec_… secret \(got <redacted>\)/);
  assert.match(problems, /NIMBUSPAY_MASTER_KEY must be 32 bytes, base64-encoded/);
  const production = problemsOf({ ...productionEnv, STAFF_OIDC_ISSUER: 'http://idp.example', STAFF_OIDC_CLIENT_ID: 'c', STAFF_OIDC_CLIENT_SECRET: 'idp-secret-value' });
  assert.ok(!production.join('\n').includes('idp-secret-value'));
});

test('list settings: comma-separated positive integers, spaces tolerated, a bad or empty entry named', () => {
  assert.deepEqual(loadConfig({ WEBHOOK_RETRY_SCHEDULE_MS: '5000,300000, 1800000 ' }).webhookRetryScheduleMs, [5000, 300000, 1800000]);
  assert.deepEqual(loadConfig({ WEBHOOK_RETRY_SCHEDULE_MS: '1' }).webhookRetryScheduleMs, [1]);
  for (const [text, entry] of [
    ['   ', 1], ['5000,,300', 2], ['5000,0', 2], ['-5', 1], ['5000,1.5', 2], ['5e3', 1], ['5000,abc', 2], ['0x10', 1],
    ['99999999999999999999', 1], ['5000,', 2],
  ] as const) {
    assert.deepEqual(problemsOf({ WEBHOOK_RETRY_SCHEDULE_MS: text }), [
      `WEBHOOK_RETRY_SCHEDULE_MS must be comma-separated positive integers (milliseconds); entry #${entry} is not an integer of at least 1 (got '${text}')`,
    ], text);
  }
});

test('a master key must decode to 32 bytes', () => {
  assert.deepEqual(problemsOf({ NIMBUSPAY_MASTER_KEY: 'c2hvcnQ=' }), [
    'NIMBUSPAY_MASTER_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`) (got <redacted>)',
  ]);
});

test('staff SSO: the client id and secret come with the issuer, https in production, and local login off needs SSO', () => {
  assert.match(problemsOf({ STAFF_OIDC_ISSUER: 'http://127.0.0.1:4000' }).join('\n'), /STAFF_OIDC_CLIENT_ID is required with STAFF_OIDC_ISSUER/);
  // the secret is the api role's to require (src/main/modules.ts): the sandbox role reads the same ConfigMap without it
  assert.deepEqual(problemsOf({ STAFF_OIDC_ISSUER: 'http://127.0.0.1:4000', STAFF_OIDC_CLIENT_ID: 'console' }), []);
  assert.match(problemsOf({ STAFF_LOCAL_LOGIN: 'false' }).join('\n'), /STAFF_LOCAL_LOGIN=false needs STAFF_OIDC_ISSUER: otherwise nobody can sign in/);
  const sso = { STAFF_OIDC_ISSUER: 'http://idp.example', STAFF_OIDC_CLIENT_ID: 'console', STAFF_OIDC_CLIENT_SECRET: 'idp-secret-value' };
  assert.ok(problemsOf({ ...productionEnv, ...sso }).includes(
    'STAFF_OIDC_ISSUER=http://idp.example is not allowed in production (the authorization code and the ID token travel between the API and the identity provider)',
  ));
  const secretShown = problemsOf({ ...sso, STAFF_OIDC_CLIENT_SECRET: '', STAFF_OIDC_CLIENT_ID: '' }).join('\n');
  assert.doesNotMatch(secretShown, /idp-secret-value/);
});

test('staff SSO role map: group=role pairs, an unknown role is refused rather than mapped to nothing', () => {
  const config = loadConfig({ STAFF_OIDC_ROLE_MAP: 'support=support_agent, ops=support_operator,admins=platform_admin' });
  assert.deepEqual(config.staffOidcRoleMap, { support: 'support_agent', ops: 'support_operator', admins: 'platform_admin' });
  assert.deepEqual(problemsOf({ STAFF_OIDC_ROLE_MAP: 'ops=support_operator,support=superuser' }), [
    'STAFF_OIDC_ROLE_MAP must be comma-separated name=value pairs, each value one of support_agent, support_operator, platform_admin; '
      + "pair #2 is not (got 'ops=support_operator,support=superuser')",
  ]);
  assert.match(problemsOf({ LOGS_INSIGHTS_LOG_GROUP: '/nimbuspay/x/application' }).join('\n'), /AWS_REGION is required/);
});

test('the migrate role reads only its own settings, under their own names', () => {
  const secrets = { NIMBUSPAY_MASTER_KEY: 'not-a-key', PORT: 'not-a-port' };
  assert.deepEqual(loadMigrationConfig({ ...secrets, DATABASE_URL: 'postgres://app@db/x' }), {
    env: 'development', logLevel: 'info', migrationDatabaseUrl: 'postgres://app@db/x',
  });
  assert.throws(() => loadMigrationConfig({}), (err: unknown) => err instanceof ConfigError
    && err.problems.join() === 'MIGRATION_DATABASE_URL or DATABASE_URL is required');
  assert.throws(() => loadMigrationConfig({ NIMBUSPAY_ENV: 'prod', LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://x' }), (err: unknown) =>
    err instanceof ConfigError && err.problems.join('\n') === [
      "NIMBUSPAY_ENV must be one of development, staging, production (got 'prod')",
      "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got 'loud')",
    ].join('\n'));
});

test('the README configuration table lists exactly the variables of the table, as generated', async () => {
  const readme = await readFile(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8');
  assert.equal(readme, replaceSection(readme), 'run `npm run docs:config`');
  const section = readme.slice(readme.indexOf('<!-- config-table:start'), readme.indexOf(END));
  const documented = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented, settingsInOrder().map(([, s]) => s.variable));
});
