import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  maskSecret, profileDir, profilePath, ProfileError, readProfiles, removeProfile, resolveConnection, writeProfile,
} from '../../src/cli/profile.js';

/** A temporary config directory (never $HOME); removed after the test whatever happens. */
function tempConfig(t: { after(fn: () => void): void }): { dir: string; env: Record<string, string> } {
  const base = mkdtempSync(path.join(os.tmpdir(), 'nimbuspay-profile-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = path.join(base, 'config', 'nimbuspay');
  return { dir, env: { NIMBUSPAY_CONFIG_DIR: dir, HOME: path.join(base, 'home') } };
}

const local = { url: 'http://localhost:3000/', client_id: 'cli_local', client_secret: 'cs_local_secret_0001' };
const prod = { url: 'https://api.example.com', client_id: 'cli_prod', client_secret: 'cs_prod_secret_0002' };

test('directory: NIMBUSPAY_CONFIG_DIR, else XDG_CONFIG_HOME/nimbuspay, else ~/.config/nimbuspay', () => {
  assert.equal(profileDir({ NIMBUSPAY_CONFIG_DIR: '/a/b', XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/a/b');
  assert.equal(profileDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/x/nimbuspay');
  assert.equal(profileDir({ HOME: '/h' }), '/h/.config/nimbuspay');
  assert.equal(profilePath({ NIMBUSPAY_CONFIG_DIR: '/a/b' }), '/a/b/config.json');
});

test('write: directory 0700, file 0600, the documented JSON shape, no temporary file left', (t) => {
  const { dir, env } = tempConfig(t);
  const written = writeProfile(env, 'local', local, { makeDefault: 'if-none' });
  assert.equal(written.path, path.join(dir, 'config.json'));
  assert.equal(written.isDefault, true);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(written.path).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(written.path, 'utf8')), {
    default_profile: 'local',
    profiles: { local: { url: 'http://localhost:3000', client_id: 'cli_local', client_secret: 'cs_local_secret_0001' } },
  });
  writeProfile(env, 'local', { ...local, client_secret: 'cs_local_secret_0003' });
  assert.deepEqual(readdirSync(dir), ['config.json']);
  assert.equal(readProfiles(env).profiles.local?.client_secret, 'cs_local_secret_0003');
});

test('default: "if-none" keeps an existing default, true replaces it; remove clears it', (t) => {
  const { env } = tempConfig(t);
  writeProfile(env, 'prod', prod, { makeDefault: true });
  assert.equal(writeProfile(env, 'local', local, { makeDefault: 'if-none' }).isDefault, false);
  assert.equal(readProfiles(env).default_profile, 'prod');
  assert.equal(writeProfile(env, 'local', local, { makeDefault: true }).isDefault, true);
  assert.equal(readProfiles(env).default_profile, 'local');
  assert.equal(removeProfile(env, 'local'), true);
  assert.equal(removeProfile(env, 'local'), false);
  assert.deepEqual(readProfiles(env), { profiles: { prod } });
  // a default that was removed is taken by the next "if-none" write
  assert.equal(writeProfile(env, 'local', local, { makeDefault: 'if-none' }).isDefault, true);
});

test('read: none is empty; a file others can read is refused (as ssh refuses a key), a write fixes it', (t) => {
  const { env } = tempConfig(t);
  assert.deepEqual(readProfiles(env), { profiles: {} });
  const file = writeProfile(env, 'local', local, { makeDefault: true }).path;
  chmodSync(file, 0o644);
  assert.throws(() => readProfiles(env), (err: Error) => err instanceof ProfileError && /chmod 600/.test(err.message) && !err.message.includes(local.client_secret));
  assert.throws(() => resolveConnection({ env }), ProfileError);
  writeProfile(env, 'other', prod);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readProfiles(env).profiles.local?.client_id, 'cli_local');
});

test('read: invalid JSON or shape is a ProfileError naming the file', (t) => {
  const { dir, env } = tempConfig(t);
  writeProfile(env, 'local', local);
  writeFileSync(path.join(dir, 'config.json'), '{ nope', { mode: 0o600 });
  assert.throws(() => readProfiles(env), /config\.json is not valid JSON/);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ profiles: { a: { url: 1 } } }), { mode: 0o600 });
  assert.throws(() => readProfiles(env), /profile "a" needs/);
  assert.throws(() => writeProfile(env, 'b', local), ProfileError, 'a broken file is not overwritten');
});

test('write: bad names and URLs are refused, nothing written', (t) => {
  const { dir, env } = tempConfig(t);
  assert.throws(() => writeProfile(env, '../evil', local), /invalid profile name/);
  assert.throws(() => writeProfile(env, 'x', { ...local, url: 'ftp://x' }), /http or https/);
  assert.throws(() => writeProfile(env, 'x', { ...local, url: 'localhost:3000' }), ProfileError);
  assert.throws(() => writeProfile(env, 'x', { ...local, client_secret: '' }), /client secret/);
  assert.throws(() => statSync(dir), { code: 'ENOENT' });
});

test('resolve: nothing configured says how to fix it', (t) => {
  const { env } = tempConfig(t);
  assert.throws(() => resolveConnection({ env }), (err: Error) =>
    err instanceof ProfileError && err.message.includes('nimbuspay login') && err.message.includes('npm start'));
});

test('resolve: the default profile, then the environment over it, then flags over both', (t) => {
  const { env } = tempConfig(t);
  writeProfile(env, 'local', local, { makeDefault: true });
  writeProfile(env, 'prod', prod);
  assert.deepEqual(resolveConnection({ env }), { url: 'http://localhost:3000', clientId: 'cli_local', clientSecret: 'cs_local_secret_0001', profileName: 'local' });

  const withEnv = { ...env, NIMBUSPAY_PUBLIC_URL: 'http://127.0.0.1:4000/', NIMBUSPAY_CLIENT_ID: 'cli_env', NIMBUSPAY_CLIENT_SECRET: 'cs_env' };
  assert.deepEqual(resolveConnection({ env: withEnv }), { url: 'http://127.0.0.1:4000', clientId: 'cli_env', clientSecret: 'cs_env' });
  assert.deepEqual(resolveConnection({ env: withEnv, flags: { url: 'http://127.0.0.1:5000' } }), { url: 'http://127.0.0.1:5000', clientId: 'cli_env', clientSecret: 'cs_env' });
  assert.deepEqual(resolveConnection({ env: withEnv, flags: { clientId: 'cli_flag', clientSecret: 'cs_flag' } }), { url: 'http://127.0.0.1:4000', clientId: 'cli_flag', clientSecret: 'cs_flag' });

  // environment URL only: credentials from the default profile
  assert.deepEqual(resolveConnection({ env: { ...env, NIMBUSPAY_PUBLIC_URL: 'http://127.0.0.1:4000' } }),
    { url: 'http://127.0.0.1:4000', clientId: 'cli_local', clientSecret: 'cs_local_secret_0001', profileName: 'local' });
});

test('resolve: --profile names the whole source (the environment is ignored), --url still overrides', (t) => {
  const { env } = tempConfig(t);
  writeProfile(env, 'local', local, { makeDefault: true });
  writeProfile(env, 'prod', prod);
  const withEnv = { ...env, NIMBUSPAY_PUBLIC_URL: 'http://127.0.0.1:4000', NIMBUSPAY_CLIENT_ID: 'cli_env', NIMBUSPAY_CLIENT_SECRET: 'cs_env' };
  assert.deepEqual(resolveConnection({ env: withEnv, flags: { profile: 'prod' } }), { url: 'https://api.example.com', clientId: 'cli_prod', clientSecret: 'cs_prod_secret_0002', profileName: 'prod' });
  assert.equal(resolveConnection({ env: withEnv, flags: { profile: 'prod', url: 'http://127.0.0.1:6000' } }).url, 'http://127.0.0.1:6000');
  assert.throws(() => resolveConnection({ env, flags: { profile: 'staging' } }), /no profile "staging".*profiles: local, prod/);
});

test('resolve: half a credential pair is an error, never completed from a profile', (t) => {
  const { env } = tempConfig(t);
  writeProfile(env, 'local', local, { makeDefault: true });
  assert.throws(() => resolveConnection({ env: { ...env, NIMBUSPAY_CLIENT_ID: 'cli_env' } }), /NIMBUSPAY_CLIENT_ID is set but NIMBUSPAY_CLIENT_SECRET is not/);
  assert.throws(() => resolveConnection({ env: { ...env, NIMBUSPAY_CLIENT_SECRET: 'cs' } }), /NIMBUSPAY_CLIENT_SECRET is set but NIMBUSPAY_CLIENT_ID is not/);
  assert.throws(() => resolveConnection({ env, flags: { clientId: 'x' } }), /both/);
  // credentials in the environment but no URL anywhere
  const { env: empty } = tempConfig(t);
  assert.throws(() => resolveConnection({ env: { ...empty, NIMBUSPAY_CLIENT_ID: 'a', NIMBUSPAY_CLIENT_SECRET: 'b' } }), /the URL could not be found/);
  assert.throws(() => resolveConnection({ env: { ...empty, NIMBUSPAY_PUBLIC_URL: 'nope' , NIMBUSPAY_CLIENT_ID: 'a', NIMBUSPAY_CLIENT_SECRET: 'b' } }), /NIMBUSPAY_PUBLIC_URL is not a URL/);
});

test('maskSecret keeps only the last four characters', () => {
  assert.equal(maskSecret('cs_local_secret_0001'), '****0001');
  assert.equal(maskSecret('short'), '****');
});
