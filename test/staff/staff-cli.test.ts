/**
 * `nimbuspay staff …` as an operator runs it: a child process against the platform's database and master key; the
 * printed password (and TOTP secret) then log in over HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freshTotpCode } from '../helpers/staff.js';

const root = path.resolve(import.meta.dirname, '../..');
let platform: TestPlatform;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-staff-cli-'));
  platform = await startTestPlatform();
});
after(async () => {
  await platform.close();
  await rm(dataDir, { recursive: true, force: true });
});

interface Run { code: number; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NIMBUSPAY_ENV: 'development',
    NIMBUSPAY_DATA_DIR: dataDir,
    NIMBUSPAY_PUBLIC_URL: platform.baseUrl,
    DATABASE_URL: platform.db.appUrl,
    NIMBUSPAY_MASTER_KEY: platform.config.masterKey!,
    ...env,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], { cwd: root, env: base, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('nimbuspay staff', () => {
  it('--help prints the staff usage', async () => {
    const run = await cli(['staff', '--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /staff create --email EMAIL --role ROLE/);
    assert.match(run.stdout, /staff list/);
    const top = await cli(['--help']);
    assert.match(top.stdout, /staff create/);
  });

  it('create prints the password and TOTP enrolment once; they log in', async () => {
    const run = await cli(['staff', 'create', '--email', 'Operator@Corp.test', '--role', 'support_operator', '--name', 'Olga Operator']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Created staff user stf_\w+ operator@corp\.test \(support_operator\)/);
    const password = /password +(\S+)/.exec(run.stdout)?.[1];
    const uri = /TOTP URI +(otpauth:\/\/totp\/\S+)/.exec(run.stdout)?.[1];
    const secret = /TOTP secret +([A-Z2-7]+)/.exec(run.stdout)?.[1];
    assert.ok(password && uri && secret, run.stdout);
    assert.equal(new URL(uri).searchParams.get('secret'), secret);
    assert.match(run.stdout, new RegExp(`${platform.baseUrl}/console/`));
    const noCode = await platform.request('POST', '/v1/staff/login', { body: { email: 'operator@corp.test', password } });
    assert.equal(noCode.body.error.code, 'totp_required');
    const ok = await platform.request('POST', '/v1/staff/login', { body: { email: 'operator@corp.test', password, totp_code: freshTotpCode(secret) } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.staff.display_name, 'Olga Operator');
    // the database keeps neither in clear
    const row = await platform.database.db.selectFrom('staff_users').selectAll().where('email', '=', 'operator@corp.test').executeTakeFirstOrThrow();
    assert.ok(!row.password_hash!.includes(password));
    assert.ok(!row.totp_secret_enc!.includes(secret));
  });

  it('--no-totp works in development only; --json answers JSON', async () => {
    const dev = await cli(['staff', 'create', '--email', 'dev@corp.test', '--role', 'support_agent', '--no-totp', '--json']);
    assert.equal(dev.code, 0, dev.stderr);
    const created = JSON.parse(dev.stdout) as { id: string; password: string; totp_uri: string | null; totp_enabled: boolean };
    assert.equal(created.totp_uri, null);
    assert.equal(created.totp_enabled, false);
    const ok = await platform.request('POST', '/v1/staff/login', { body: { email: 'dev@corp.test', password: created.password } });
    assert.equal(ok.status, 200, ok.text);
    const staging = await cli(['staff', 'create', '--email', 'stg@corp.test', '--role', 'support_agent', '--no-totp'], { NIMBUSPAY_ENV: 'staging' });
    assert.equal(staging.code, 64, staging.stderr);
    assert.match(staging.stderr, /--no-totp is for development only/);
  });

  it('refuses a duplicate email, a bad role and a missing email', async () => {
    await cli(['staff', 'create', '--email', 'dup@corp.test', '--role', 'support_agent']);
    const dup = await cli(['staff', 'create', '--email', 'DUP@corp.test', '--role', 'support_agent']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
    const role = await cli(['staff', 'create', '--email', 'x@corp.test', '--role', 'god']);
    assert.equal(role.code, 64);
    assert.match(role.stderr, /--role must be one of support_agent, support_operator, platform_admin/);
    const email = await cli(['staff', 'create', '--role', 'support_agent']);
    assert.equal(email.code, 64);
  });

  it('list shows the accounts without secrets', async () => {
    const run = await cli(['staff', 'list']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ID +EMAIL +ROLE +STATUS +LOGIN +LAST_LOGIN_AT/m);
    assert.match(run.stdout, /operator@corp\.test +support_operator +active +local\+totp/);
    assert.doesNotMatch(run.stdout, /scrypt|v1\./);
  });

  it('says how to fix an unreachable database', async () => {
    const run = await cli(['staff', 'list'], { DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/nimbuspay' });
    assert.equal(run.code, 69);
    assert.match(run.stderr, /cannot reach the database/);
  });
});
