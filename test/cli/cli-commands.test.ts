import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';

import { writeProfile } from '../../src/cli/profile.js';
import { cliEnv, root, runCli, tempConfigDir } from './cli-helpers.js';
import { eventually } from '../helpers/eventually.js';

let platform: TestPlatform;
let tenant: TestTenant;
let other: TestTenant;
const config = tempConfigDir();
let env: Record<string, string | undefined>;

before(async () => {
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  other = await createTenant(platform, { name: 'Other Corp' });
  // The tenant's credentials come from the profile file, as after `nimbuspay login` or `npm start`.
  writeProfile({ NIMBUSPAY_CONFIG_DIR: config.dir }, 'acme', { url: platform.baseUrl, client_id: tenant.clientId, client_secret: tenant.clientSecret }, { makeDefault: true });
  env = cliEnv({ NIMBUSPAY_CONFIG_DIR: config.dir });
});
after(async () => {
  await platform.close();
  config.remove();
});

const card = ['--card', '4242424242424242'];

describe('nimbuspay CLI: help and version', () => {
  it('prints help at every level and the version from package.json', async () => {
    const version = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string }).version;
    const v = await runCli(['--version'], env);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), `nimbuspay ${version}`);
    const top = await runCli(['--help'], env);
    assert.equal(top.code, 0);
    for (const word of ['payments create|get|list|capture|cancel|refund', 'listen --forward-to', 'trigger EVENT_TYPE', 'logs tail', 'tenants create']) {
      assert.ok(top.stdout.includes(word), `top help names ${word}`);
    }
    const group = await runCli(['payments', '--help'], env);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /^Usage: nimbuspay payments <command>/);
    assert.match(group.stdout, /payments refund PAYMENT_ID/);
    const sub = await runCli(['webhooks', 'endpoints', '-h'], env);
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /webhooks endpoints rotate-secret ENDPOINT_ID/);
    const command = await runCli(['payments', 'create', '--help'], env);
    assert.equal(command.code, 0);
    assert.match(command.stdout, /^Usage: nimbuspay payments create --amount MINOR/);
    assert.match(command.stdout, /--profile NAME/);
    const tenants = await runCli(['tenants', '--help'], env);
    assert.equal(tenants.code, 0, tenants.stderr);
    assert.match(tenants.stdout, /tenants create --name NAME/);
  });

  it('answers a usage mistake with exit 64 and the help, before any request', async () => {
    const unknown = await runCli(['payments', 'explode'], env);
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /unknown command 'payments explode'/);
    const flag = await runCli(['payments', 'list', '--colour'], env);
    assert.equal(flag.code, 64);
    assert.match(flag.stderr, /--colour/);
    const decimal = await runCli(['payments', 'create', '--amount', '20.00', '--currency', 'usd', ...card], env);
    assert.equal(decimal.code, 64);
    assert.match(decimal.stderr, /--amount must be a whole number/);
  });
});

describe('nimbuspay CLI: payments against the platform', () => {
  it('creates, gets, lists, captures and refunds with --json', async () => {
    const created = await runCli(['payments', 'create', '--amount', '2500', '--currency', 'usd', ...card, '--capture-method', 'manual', '--metadata', 'order=42', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const payment = JSON.parse(created.stdout) as { id: string; status: string; amount: number; metadata: Record<string, string> };
    assert.equal(payment.status, 'requires_capture');
    assert.equal(payment.amount, 2500);
    assert.deepEqual(payment.metadata, { order: '42' });

    const got = await runCli(['payments', 'get', payment.id, '--json'], env);
    assert.equal(got.code, 0, got.stderr);
    assert.equal((JSON.parse(got.stdout) as { id: string }).id, payment.id);
    const listed = await runCli(['payments', 'list', '--limit', '5', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as { data: Array<{ id: string }> }).data.some((p) => p.id === payment.id));
    const table = await runCli(['payments', 'list'], env);
    assert.match(table.stdout, /^ID\s+STATUS\s+AMOUNT/);
    assert.ok(table.stdout.includes(payment.id));

    const captured = await runCli(['payments', 'capture', payment.id, '--amount', '2000', '--json'], env);
    assert.equal(captured.code, 0, captured.stderr);
    assert.equal((JSON.parse(captured.stdout) as { status: string; amount_captured: number }).amount_captured, 2000);
    const refunded = await runCli(['payments', 'refund', payment.id, '--amount', '500', '--json'], env);
    assert.equal(refunded.code, 0, refunded.stderr);
    const refund = JSON.parse(refunded.stdout) as { id: string; amount: number; status: string };
    assert.equal(refund.amount, 500);
    assert.equal(refund.status, 'succeeded');
    const after = await platform.request('GET', `/v1/payments/${payment.id}`, { token: tenant.token });
    assert.equal(after.body.amount_refunded, 500);
  });

  it('exits 1 with the API error code and request id; 77 for refused credentials; 69 when the API is down; 78 without credentials', async () => {
    const missing = await runCli(['payments', 'get', 'pay_01jq8x4m3c0000000000000000'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /resource_not_found, HTTP 404, request_id \S+/);
    const theirs = await platform.request('POST', '/v1/payments', {
      token: other.token, headers: { 'idempotency-key': 'other-1' },
      body: { amount: 100, currency: 'usd', payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } } },
    });
    const foreign = await runCli(['payments', 'get', theirs.body.id], env);
    assert.equal(foreign.code, 1, 'another tenant\'s payment is as missing as a missing one');
    assert.match(foreign.stderr, /resource_not_found/);

    const wrong = await runCli(['payments', 'list'], cliEnv({ NIMBUSPAY_CONFIG_DIR: config.dir, NIMBUSPAY_CLIENT_ID: tenant.clientId, NIMBUSPAY_CLIENT_SECRET: 'not-the-secret' }));
    assert.equal(wrong.code, 77, wrong.stderr);
    const down = await runCli(['payments', 'list', '--url', 'http://127.0.0.1:9'], env);
    assert.equal(down.code, 69, down.stderr);
    const none = tempConfigDir();
    try {
      const nothing = await runCli(['payments', 'list'], cliEnv({ NIMBUSPAY_CONFIG_DIR: none.dir }));
      assert.equal(nothing.code, 78);
      assert.match(nothing.stderr, /nimbuspay login/);
    } finally {
      none.remove();
    }
  });

  it('events list and get show the payment events', async () => {
    const listed = await runCli(['events', 'list', '--type', 'payment.*', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const events = (JSON.parse(listed.stdout) as { data: Array<{ id: string; type: string }> }).data;
    assert.ok(events.length > 0 && events.every((e) => e.type.startsWith('payment.')));
    const got = await runCli(['events', 'get', events[0]!.id], env);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /data\.object:/);
  });

  it('webhooks endpoints: create prints the secret once, then list, update, rotate-secret and delete', async () => {
    const created = await runCli(['webhooks', 'endpoints', 'create', '--endpoint-url', 'https://example.com/hooks', '--events', 'payment.succeeded,refund.*', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const endpoint = JSON.parse(created.stdout) as { id: string; secret: string; enabled_events: string[] };
    assert.match(endpoint.secret, /^whsec_/);
    assert.deepEqual(endpoint.enabled_events, ['payment.succeeded', 'refund.*']);
    const listed = await runCli(['webhooks', 'endpoints', 'list'], env);
    assert.ok(listed.stdout.includes(endpoint.id));
    assert.ok(!listed.stdout.includes(endpoint.secret));
    const updated = await runCli(['webhooks', 'endpoints', 'update', endpoint.id, '--disable', '--json'], env);
    assert.equal((JSON.parse(updated.stdout) as { status: string }).status, 'disabled');
    const rotated = await runCli(['webhooks', 'endpoints', 'rotate-secret', endpoint.id, '--json'], env);
    const secret = (JSON.parse(rotated.stdout) as { secret: string }).secret;
    assert.ok(secret.startsWith('whsec_') && secret !== endpoint.secret);
    const deleted = await runCli(['webhooks', 'endpoints', 'delete', endpoint.id], env);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await runCli(['webhooks', 'endpoints', 'get', endpoint.id], env)).code, 1);
  });

  it("logs tail shows the requests just made, and nothing of another tenant's", async () => {
    const marker = 'req-other-tenant-0001';
    await platform.request('GET', '/v1/payments', { token: other.token, headers: { 'x-request-id': marker } });
    const mine = 'req-my-tenant-000001';
    await platform.request('GET', '/v1/payments', { token: tenant.token, headers: { 'x-request-id': mine } });
    // The log is written in batches a moment after each answer: wait until it holds the request.
    await eventually(async () => {
      const res = await platform.request('GET', '/v1/request_logs?limit=100', { token: tenant.token });
      return res.body.data.some((e: { request_id: string }) => e.request_id === mine);
    }, { timeoutMs: 10_000, what: 'the request log to hold the request' });
    const tail = await runCli(['logs', 'tail', '--limit', '100', '--json'], env);
    assert.equal(tail.code, 0, tail.stderr);
    const entries = (JSON.parse(tail.stdout) as { data: Array<{ request_id: string; route: string; status_code: number }> }).data;
    assert.ok(entries.some((e) => e.request_id === mine));
    assert.ok(entries.some((e) => e.route === '/v1/payments' && e.status_code === 201), 'the CLI\'s own payment create is there');
    assert.ok(!entries.some((e) => e.request_id === marker));
    const theirs = await platform.request('GET', '/v1/request_logs?limit=100', { token: other.token });
    assert.ok(theirs.body.data.some((e: { request_id: string }) => e.request_id === marker));
    assert.ok(!theirs.body.data.some((e: { request_id: string }) => e.request_id === mine));
    for (const e of entries) assert.deepEqual(Object.keys(e).sort(), ['client_id', 'created_at', 'error_code', 'id', 'latency_ms', 'method', 'object', 'object_id', 'request_id', 'route', 'status_code']);
    const text = await runCli(['logs', 'tail', '--status', '404'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.split('\n').filter(Boolean).every((l) => / 404 /.test(l)), text.stdout);
  });

  it('trigger creates the sandbox objects of each event type, and refuses one it cannot make', async () => {
    const expected: Record<string, string[]> = {
      'payment.failed': ['failed'],
      'payment.canceled': ['canceled'],
      'refund.failed': ['succeeded', 'failed'],
    };
    for (const [type, statuses] of Object.entries(expected)) {
      const res = await runCli(['trigger', type, '--json'], env);
      assert.equal(res.code, 0, `${type}: ${res.stderr}`);
      const created = (JSON.parse(res.stdout) as { created: Array<{ id: string; status: string }> }).created;
      assert.deepEqual(created.map((o) => o.status), statuses, type);
      await eventually(async () => {
        const events = await platform.request('GET', `/v1/events?type=${type}&object_id=${created[created.length - 1]!.id}`, { token: tenant.token });
        return events.body.data.length === 1;
      }, { timeoutMs: 10_000, what: `the ${type} event` });
    }
    const bogus = await runCli(['trigger', 'payment.exploded'], env);
    assert.equal(bogus.code, 64);
    assert.match(bogus.stderr, /payment\.requires_capture/);
  });

  it('the request log route needs logs:read and validates its query', async () => {
    const limited = await createTenant(platform, { name: 'No logs', scopes: ['payments:read'] });
    assert.equal((await platform.request('GET', '/v1/request_logs', { token: limited.token })).status, 403);
    assert.equal((await platform.request('GET', '/v1/request_logs')).status, 401);
    for (const q of ['limit=0', 'status=99', 'ending_before=abc', 'status_class=6xx', 'tenant=ten_x']) {
      assert.equal((await platform.request('GET', `/v1/request_logs?${q}`, { token: tenant.token })).status, 400, q);
    }
  });
});
