/**
 * The admin CLI as an operator runs it: a child process (`node --import tsx src/main/cli.ts …`) talking to a
 * real API over HTTP with the platform admin credentials from the environment.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startTestPlatform, freePort, type TestPlatform } from '../helpers/platform.js';
import { ADMIN_SECRET, adminToken, getToken } from '../helpers/tenants.js';

const root = path.resolve(import.meta.dirname, '../..');
let platform: TestPlatform;

before(async () => {
  platform = await startTestPlatform();
});
after(() => platform.close());

interface Run { code: number; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NIMBUSPAY_ENV: 'development',
    NIMBUSPAY_PUBLIC_URL: platform.baseUrl,
    NIMBUSPAY_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
    ...env,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], { cwd: root, env: base, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function inBatches<T>(size: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += size) out.push(...(await Promise.all(jobs.slice(i, i + size).map((j) => j()))));
  return out;
}

describe('nimbuspay admin CLI', () => {
  it('tenants create --name … --json creates a tenant the API then returns', async () => {
    const run = await cli(['tenants', 'create', '--name', 'Acme CLI', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const tenant = JSON.parse(run.stdout) as { id: string; name: string; status: string };
    assert.match(tenant.id, /^ten_/);
    assert.equal(tenant.name, 'Acme CLI');
    const res = await platform.request('GET', `/v1/admin/tenants/${tenant.id}`, { token: await adminToken(platform) });
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'Acme CLI');
  });

  it('full lifecycle: tenant, client, token, rotate-secret, revoke, list, get (human output)', async () => {
    const created = await cli(['tenants', 'create', '--name=Globex']);
    assert.equal(created.code, 0, created.stderr);
    const tenantId = /Created tenant (ten_\w+) "Globex" \(active\)/.exec(created.stdout)?.[1];
    assert.ok(tenantId, created.stdout);

    const got = await cli(['tenants', 'get', tenantId]);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /name:\s+Globex/);
    const listed = await cli(['tenants', 'list', '--limit', '100']);
    assert.match(listed.stdout, new RegExp(tenantId));

    const client = await cli(['clients', 'create', '--tenant', tenantId, '--name', 'backend', '--scopes', 'payments:read,payments:write', '--json']);
    assert.equal(client.code, 0, client.stderr);
    const c = JSON.parse(client.stdout) as { client_id: string; client_secret: string; scopes: string[] };
    assert.deepEqual(c.scopes, ['payments:read', 'payments:write']);
    await getToken(platform, c.client_id, c.client_secret);

    const clients = await cli(['clients', 'list', '--tenant', tenantId]);
    assert.match(clients.stdout, new RegExp(`${c.client_id}\\s+backend\\s+active\\s+payments:read payments:write`));
    assert.equal(clients.stdout.includes(c.client_secret), false);

    const rotated = await cli(['clients', 'rotate-secret', '--tenant', tenantId, c.client_id]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newSecret = /client_secret:\s+(ncs_\S+)/.exec(rotated.stdout)?.[1];
    assert.ok(newSecret && newSecret !== c.client_secret, rotated.stdout);
    await assert.rejects(getToken(platform, c.client_id, c.client_secret));
    await getToken(platform, c.client_id, newSecret);

    const revoked = await cli(['clients', 'revoke', '--tenant', tenantId, c.client_id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Revoked client/);
    await assert.rejects(getToken(platform, c.client_id, newSecret));
  });

  it('keys list and keys rotate', async () => {
    const before = await cli(['keys', 'list', '--json']);
    assert.equal(before.code, 0, before.stderr);
    const n = (JSON.parse(before.stdout) as { data: unknown[] }).data.length;
    const rotated = await cli(['keys', 'rotate', '--activation-delay', '600']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /New signing key key_\S+ is published; it starts signing at/);
    const after = await cli(['keys', 'list']);
    assert.match(after.stdout, /^KID\s+STATUS/m);
    assert.match(after.stdout, /\bnext\b/);
    assert.equal(after.stdout.trim().split('\n').length, n + 2);
  });

  it('errors: clear messages and distinct exit codes', async () => {
    // independent child processes: a few side by side (each pays tsx's start-up; too many at once starve a busy machine)
    const runs = await inBatches(3, [
      () => cli(['tenants', 'get', 'ten_00000000000000000000000000']),
      () => cli(['clients', 'create', '--name', 'x', '--scopes', 'payments:read']),
      () => cli(['tenants', 'create', '--nmae', 'x']),
      () => cli(['tenants', 'destroy']),
      () => cli(['clients', 'create', '--tenant', 'ten_00000000000000000000000000', '--name', 'x', '--scopes', 'platform:admin']),
      () => cli(['tenants', 'list'], { NIMBUSPAY_ADMIN_CLIENT_SECRET: 'definitely-not-the-admin-secret' }),
      () => cli(['tenants', 'list'], { NIMBUSPAY_ADMIN_CLIENT_SECRET: '' }),
      () => freePort().then((port) => cli(['tenants', 'list', '--url', `http://127.0.0.1:${port}`])),
    ]);
    const [missing, usage, unknownOption, unknownCommand, badScope, badSecret, noSecret, down] = runs as [Run, Run, Run, Run, Run, Run, Run, Run];
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such tenant.*resource_not_found, HTTP 404, request_id/);

    assert.equal(usage.code, 64);
    assert.match(usage.stderr, /--tenant is required/);
    assert.equal(unknownOption.code, 64);
    assert.equal(unknownCommand.code, 64);
    assert.match(unknownCommand.stderr, /unknown tenants command 'destroy'/);

    assert.equal(badScope.code, 1);

    assert.equal(badSecret.code, 77);
    assert.match(badSecret.stderr, /refused the platform admin credentials/);
    assert.equal(badSecret.stderr.includes('definitely-not-the-admin-secret'), false);

    assert.equal(noSecret.code, 78);
    assert.match(noSecret.stderr, /NIMBUSPAY_ADMIN_CLIENT_SECRET is not set/);

    assert.equal(down.code, 69);
    assert.match(down.stderr, /cannot reach the NimbusPay API/);
  });

  it('--url overrides NIMBUSPAY_PUBLIC_URL', async () => {
    const run = await cli(['tenants', 'list', '--json', '--url', platform.baseUrl], { NIMBUSPAY_PUBLIC_URL: 'http://127.0.0.1:1' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { object: string }).object, 'list');
  });
});
