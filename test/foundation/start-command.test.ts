import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCommandLauncher, type StartPorts } from '../helpers/start-command.js';

const ADMIN_SECRET = 'start-test-admin-secret-0123456789';

/** Every `nimbuspay start` this file spawned; the test's `t.after` stops whichever still runs, whatever failed. */
const { startPlatform: launch, stopStarted: stopLeftovers } = startCommandLauncher();

const startPlatform = (dataDir: string, ports?: StartPorts) =>
  launch({ dataDir, configDir: path.join(dataDir, 'cli-config'), ports, adminSecret: ADMIN_SECRET });

async function adminToken(url: string): Promise<string> {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`platform-admin:${ADMIN_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

function postgresProcessesUsing(dataDir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes('postgres') && line.includes(dataDir));
}

test('npm start: embedded PostgreSQL, ready, banner; data survives a restart; SIGTERM leaves no postgres behind', { timeout: 240_000 }, async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-start-'));
  t.after(async () => {
    await stopLeftovers(dataDir);
    await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 }).catch(() => {});
  });
  await chmod(dataDir, 0o755);
  const first = await startPlatform(dataDir);
  // How fast is a figure, not an assertion: a busy machine must not turn this red (startPlatform bounds it at 90 s).
  t.diagnostic(`first start ready in ${first.readyAfterMs} ms`);
  assert.match(first.output(), /NimbusPay is running/);
  assert.match(first.output(), /Demo tenant/);
  assert.match(first.output(), /curl -s -u '/);
  assert.match(first.output(), new RegExp(`support console +${first.url.replace('127.0.0.1', 'localhost')}/console/`));
  // the demo staff account's login, printed on the banner, opens a console session
  const staffPassword = /email +support@nimbuspay\.local\n +password +(\S+)/.exec(first.output())?.[1];
  assert.ok(staffPassword, `the banner shows the demo staff login:\n${first.output()}`);
  const staffLogin = await fetch(`${first.url}/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'support@nimbuspay.local', password: staffPassword }) });
  assert.equal(staffLogin.status, 200, await staffLogin.clone().text());
  assert.equal(((await staffLogin.json()) as { staff: { role: string } }).staff.role, 'platform_admin');
  const token = await adminToken(first.url);
  const created = await fetch(`${first.url}/v1/admin/tenants`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Survivor Inc' }) });
  assert.equal(created.status, 201);
  const tenant = (await created.json()) as { id: string };
  assert.equal(await first.stop(), 0, first.output());
  assert.deepEqual(postgresProcessesUsing(dataDir), [], 'no postgres left after SIGTERM');

  const second = await startPlatform(dataDir, first.ports);
  t.diagnostic(`restart ready in ${second.readyAfterMs} ms`);
  const again = await fetch(`${second.url}/v1/admin/tenants/${tenant.id}`, { headers: { authorization: `Bearer ${await adminToken(second.url)}` } });
  assert.equal(again.status, 200, 'the tenant survived the restart');
  assert.equal(await second.stop(), 0);
  assert.deepEqual(postgresProcessesUsing(dataDir), []);
});
