/**
 * The onboarding path as a new integrator walks it, against a fresh `npm start` (a child process with its own data
 * directory, ports and CLI profile directory): the README's quick-start block pasted into bash as written, the
 * banner's export lines pasted, and the profile commands (`login`, `profiles`, `env`, `logout`) as child processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { root, startCommandLauncher } from '../helpers/start-command.js';

const ADMIN_SECRET = 'quickstart-admin-secret-0123456789';
const { startPlatform, stopStarted } = startCommandLauncher();

interface Run { code: number | null; stdout: string; stderr: string }

/** A child process to completion (bounded, so a hung command fails the test instead of hanging it). */
function run(command: string, args: string[], options: { env: Record<string, string>; input?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 120_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The fenced bash block right after `<!-- marker -->` in the README. */
function readmeBlock(readme: string, marker: string): string {
  const at = readme.indexOf(`<!-- ${marker} -->`);
  assert.ok(at >= 0, `README has <!-- ${marker} -->`);
  const m = /^```bash\n([\s\S]*?)^```$/m.exec(readme.slice(at));
  assert.ok(m?.[1], `a bash block follows <!-- ${marker} -->`);
  return m[1];
}

test('onboarding: the README quick start, pasted as is, against a fresh npm start', { timeout: 420_000 }, async (t) => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-quickstart-'));
  const dataDir = path.join(base, 'data');
  const configDir = path.join(base, 'home', '.config', 'nimbuspay');
  t.after(async () => {
    await stopStarted(dataDir);
    await rm(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 }).catch(() => {});
  });
  // as root, initdb runs as a separate 'postgres' user that must be able to reach the data directory
  await chmod(base, 0o755);
  await mkdir(dataDir, { mode: 0o755 });
  await chmod(dataDir, 0o755);
  // A shell as a new user's: no NIMBUSPAY_* variable but where the profile is; HOME and npm's cache are temporary.
  const shellEnv = {
    PATH: process.env.PATH ?? '', HOME: path.join(base, 'home'), NIMBUSPAY_CONFIG_DIR: configDir,
    npm_config_cache: path.join(base, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false',
  };

  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  // the first terminal's command is `npm start`, which this test runs as its script does (minus the console build)
  assert.match(readmeBlock(readme, 'quickstart:platform'), /^npm ci && npm start\b/m);
  assert.equal(pkg.scripts.start, 'tsx src/main/cli.ts start');

  const platform = await startPlatform({ dataDir, configDir, adminSecret: ADMIN_SECRET });
  const banner = platform.output();
  const publicUrl = platform.url.replace('127.0.0.1', 'localhost');

  await t.test('npm start saved the demo client as the default profile "local", 0600 in a 0700 directory', async () => {
    const file = path.join(configDir, 'config.json');
    assert.equal((await stat(configDir)).mode & 0o777, 0o700);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { default_profile: string; profiles: Record<string, { url: string; client_id: string; client_secret: string }> };
    assert.equal(saved.default_profile, 'local');
    assert.equal(saved.profiles.local?.url, publicUrl);
    assert.ok(banner.includes(`client_secret  ${saved.profiles.local?.client_secret}`), 'the profile holds the secret the banner shows');
    assert.ok(banner.includes(file), `the banner says where the profile is:\n${banner}`);
  });

  await t.test('the README quick-start block, run by bash -euo pipefail, creates a succeeded payment', async () => {
    const block = readmeBlock(readme, 'quickstart:start');
    assert.doesNotMatch(block, /\$\{?CLIENT_(ID|SECRET)\b/, 'no variable that nothing sets');
    const script = path.join(base, 'quickstart.sh');
    await writeFile(script, block);
    const result = await run('bash', ['-euo', 'pipefail', script], { env: shellEnv, timeoutMs: 180_000 });
    assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    const payment = JSON.parse(result.stdout.trim()) as { id: string; object: string; status: string; amount: number };
    assert.equal(payment.object, 'payment');
    assert.equal(payment.status, 'succeeded', result.stdout);
    assert.equal(payment.amount, 2000);
    assert.match(payment.id, /^pay_/);
  });

  await t.test('the banner\'s export lines, pasted, give working credentials', async () => {
    const lines = banner.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('export NIMBUSPAY_'));
    assert.deepEqual(lines.map((l) => /^export (\w+)=/.exec(l)?.[1]), ['NIMBUSPAY_PUBLIC_URL', 'NIMBUSPAY_CLIENT_ID', 'NIMBUSPAY_CLIENT_SECRET'], banner);
    const script = [...lines, 'curl -sS --fail-with-body -u "$NIMBUSPAY_CLIENT_ID:$NIMBUSPAY_CLIENT_SECRET" -d grant_type=client_credentials "$NIMBUSPAY_PUBLIC_URL/oauth/token"', 'echo', 'echo "$NIMBUSPAY_PUBLIC_URL"'].join('\n');
    const result = await run('bash', ['-euo', 'pipefail', '-c', script], { env: { PATH: shellEnv.PATH, HOME: shellEnv.HOME } });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const [json, url] = result.stdout.trim().split('\n');
    assert.equal(typeof (JSON.parse(json!) as { access_token?: unknown }).access_token, 'string');
    assert.equal(url, publicUrl);
  });

  await t.test('login checks the credentials before saving; profiles masks; env exports; logout removes', async () => {
    const cli = (args: string[], input?: string) => run(process.execPath, ['bin/nimbuspay.mjs', ...args], { env: shellEnv, ...(input === undefined ? {} : { input }) });
    const file = path.join(configDir, 'config.json');
    const local = (JSON.parse(await readFile(file, 'utf8')) as { profiles: Record<string, { client_id: string; client_secret: string }> }).profiles.local!;

    const refused = await cli(['login', '--profile', 'ci', '--url', publicUrl, '--client-id', local.client_id, '--client-secret-stdin'], 'ncs_not-the-secret\n');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /refused the client id or secret.*Nothing was saved/);
    assert.equal((JSON.parse(await readFile(file, 'utf8')) as { profiles: Record<string, unknown> }).profiles.ci, undefined);

    const ok = await cli(['login', '--profile', 'ci', '--url', publicUrl, '--client-id', local.client_id, '--client-secret-stdin'], `${local.client_secret}\n`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Saved profile "ci"/);
    assert.doesNotMatch(ok.stdout + ok.stderr, new RegExp(local.client_secret));

    const listed = await cli(['profiles']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^\* local /m, 'local stays the default');
    assert.match(listed.stdout, new RegExp(`^  ci .*\\*{4}${local.client_secret.slice(-4)}$`, 'm'));
    assert.ok(!listed.stdout.includes(local.client_secret), 'no secret in clear');

    const env = await cli(['env', '--profile', 'ci']);
    assert.equal(env.code, 0, env.stderr);
    assert.match(env.stdout, new RegExp(`^export NIMBUSPAY_PUBLIC_URL=${publicUrl}$`, 'm'));

    const out = await cli(['logout', '--profile', 'ci']);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(Object.keys((JSON.parse(await readFile(file, 'utf8')) as { profiles: object }).profiles), ['local']);
    const again = await cli(['logout', '--profile', 'ci']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no profile "ci"/);
  });

  assert.equal(await platform.stop(), 0, platform.output());
});
