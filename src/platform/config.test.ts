import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.js';

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
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { port: number }).port = 1;
  });
});

test('production refuses every development default and names each setting', () => {
  const problems = problemsOf({ NIMBUSPAY_ENV: 'production' });
  const text = problems.join('\n');
  for (const name of ['DATABASE_URL', 'NIMBUSPAY_MASTER_KEY', 'NIMBUSPAY_ADMIN_CLIENT_SECRET', 'PROCESSOR_NOTIFICATION_SECRET',
    'PROCESSOR=sandbox', 'NIMBUSPAY_ISSUER_URL']) {
    assert.match(text, new RegExp(name.replace(/[=]/g, '=')), `expected a problem naming ${name}`);
  }
  assert.doesNotMatch(text, /WEBHOOK_ALLOW_PRIVATE_TARGETS/, 'private targets default to false outside development');
});

test('production refuses loopback webhook targets when explicitly allowed', () => {
  const problems = problemsOf({ ...productionEnv, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
  assert.ok(problems.some((p) => p.includes('WEBHOOK_ALLOW_PRIVATE_TARGETS=true is not allowed in production')));
});

test('production refuses the sandbox processor until a real adapter exists, and nothing else when fully configured', () => {
  const problems = problemsOf(productionEnv);
  assert.deepEqual(problems, ['PROCESSOR=sandbox is not allowed in production: configure a real processor adapter']);
});

test('staging keeps private webhook targets off by default and binds to all interfaces', () => {
  const config = loadConfig({ NIMBUSPAY_ENV: 'staging' });
  assert.equal(config.webhookAllowPrivateTargets, false);
  assert.equal(config.host, '0.0.0.0');
});

test('bad values are reported by variable name, all at once', () => {
  const problems = problemsOf({ PORT: 'eighty', ACCESS_TOKEN_TTL_SECONDS: '7200', NIMBUSPAY_ENV: 'prod', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'maybe' });
  const text = problems.join('\n');
  assert.match(text, /PORT must be a number/);
  assert.match(text, /ACCESS_TOKEN_TTL_SECONDS/);
  assert.match(text, /NIMBUSPAY_ENV must be one of/);
  assert.match(text, /WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false/);
});

test('a master key must decode to 32 bytes', () => {
  assert.ok(problemsOf({ NIMBUSPAY_MASTER_KEY: 'c2hvcnQ=' }).some((p) => p.includes('32 bytes')));
});

test('staff SSO: the client id and secret come with the issuer, https in production, and local login off needs SSO', () => {
  assert.match(problemsOf({ STAFF_OIDC_ISSUER: 'http://127.0.0.1:4000' }).join('\n'), /STAFF_OIDC_CLIENT_ID is required with STAFF_OIDC_ISSUER/);
  // the secret is the api role's to require (src/main/modules.ts): the sandbox role reads the same ConfigMap without it
  assert.deepEqual(problemsOf({ STAFF_OIDC_ISSUER: 'http://127.0.0.1:4000', STAFF_OIDC_CLIENT_ID: 'console' }), []);
  assert.match(problemsOf({ STAFF_LOCAL_LOGIN: 'false' }).join('\n'), /nobody can sign in to the support console/);
  const sso = { STAFF_OIDC_ISSUER: 'http://idp.example', STAFF_OIDC_CLIENT_ID: 'console', STAFF_OIDC_CLIENT_SECRET: 'idp-secret-value' };
  assert.ok(problemsOf({ ...productionEnv, ...sso }).includes('STAFF_OIDC_ISSUER must be https in production (got "http://idp.example")'));
  const secretShown = problemsOf({ ...sso, STAFF_OIDC_CLIENT_SECRET: '' , STAFF_OIDC_CLIENT_ID: '' }).join('\n');
  assert.doesNotMatch(secretShown, /idp-secret-value/);
});

test('staff SSO role map: group=role pairs, an unknown role is refused rather than mapped to nothing', () => {
  const config = loadConfig({ STAFF_OIDC_ROLE_MAP: 'support=support_agent, ops=support_operator,admins=platform_admin' });
  assert.deepEqual(config.staffOidcRoleMap, { support: 'support_agent', ops: 'support_operator', admins: 'platform_admin' });
  assert.match(problemsOf({ STAFF_OIDC_ROLE_MAP: 'support=superuser' }).join('\n'), /STAFF_OIDC_ROLE_MAP: "support=superuser"/);
  assert.match(problemsOf({ LOGS_INSIGHTS_LOG_GROUP: '/nimbuspay/x/application' }).join('\n'), /AWS_REGION is required/);
});
