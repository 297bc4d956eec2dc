import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Runs examples/integration.ts as its own process; killed when the test ends, whatever the outcome. */
function runExample(env: Record<string, string>, t: { after(fn: () => void): void }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/integration.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: os.tmpdir(), EXAMPLE_TIMEOUT_MS: '20000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function assertCompleteRun(run: { code: number | null; stdout: string; stderr: string }): void {
  assert.equal(run.code, 0, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  assert.match(lines[0]!, /^endpoint we_\S+ receiving at http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
  assert.ok(lines.some((l) => /^payment pay_\S+ requires_capture$/.test(l)), run.stdout);
  assert.ok(lines.some((l) => /^payment pay_\S+ succeeded \(captured 2000 eur\)$/.test(l)), run.stdout);
  assert.ok(lines.some((l) => /^refund re_\S+ \w+ \(500 eur\)$/.test(l)), run.stdout);
  for (const type of ['payment.requires_capture', 'payment.succeeded', 'refund.succeeded']) {
    assert.ok(lines.some((l) => l.startsWith(`webhook ${type} evt_`) && l.endsWith(' verified')), `${type} verified\n${run.stdout}`);
  }
  assert.ok(!run.stdout.includes('webhook refused'), run.stdout);
  assert.equal(lines.at(-1), 'done: payment captured and refunded, every webhook verified');
}

describe('examples/integration.ts', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let configDir: string;
  before(async () => {
    platform = await startTestPlatform({ worker: true });
    tenant = await createTenant(platform);
    configDir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-example-'));
  });
  after(async () => {
    await platform?.close();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it('runs the whole integration with credentials from the environment', async (t) => {
    const run = await runExample({
      NIMBUSPAY_CONFIG_DIR: configDir,
      NIMBUSPAY_PUBLIC_URL: platform.baseUrl,
      NIMBUSPAY_CLIENT_ID: tenant.clientId,
      NIMBUSPAY_CLIENT_SECRET: tenant.clientSecret,
    }, t);
    assertCompleteRun(run);
    assert.ok(!run.stdout.includes(tenant.clientSecret) && !run.stderr.includes(tenant.clientSecret), 'the secret is never printed');
    const endpoints = await platform.request('GET', '/v1/webhook_endpoints', { token: tenant.token });
    assert.deepEqual(endpoints.body.data, [], 'the example removes its endpoint');
  });

  it('runs with the default profile of the profile file, and fails plainly without credentials', async (t) => {
    await writeFile(path.join(configDir, 'config.json'), JSON.stringify({
      default_profile: 'local',
      profiles: { local: { url: platform.baseUrl, client_id: tenant.clientId, client_secret: tenant.clientSecret } },
    }), { mode: 0o600 });
    assertCompleteRun(await runExample({ NIMBUSPAY_CONFIG_DIR: configDir }, t));

    const empty = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-example-empty-'));
    t.after(() => rm(empty, { recursive: true, force: true }));
    const none = await runExample({ NIMBUSPAY_CONFIG_DIR: empty }, t);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No credentials: set NIMBUSPAY_CLIENT_ID/);
  });
});
