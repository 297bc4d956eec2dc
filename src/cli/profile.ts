import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

/**
 * The CLI's profile file: where `nimbuspay login` and `npm start` keep a URL and a client's credentials, so the
 * integrator commands work without flags.
 *
 * - Directory: `$NIMBUSPAY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/nimbuspay`, else `~/.config/nimbuspay`; created 0700.
 * - File `config.json`, 0600, written atomically (a temporary file created 0600 in the same directory, then
 *   renamed over the old one: a reader never sees half a file, and the secret is never readable by others, not
 *   even for the instant between a create and a chmod). Two concurrent writers: the last rename wins.
 * - Like ssh with a private key, a file that group or others may read or write is refused, not just warned
 *   about: it holds client secrets. `chmod 600 <file>` (or any write through this module) fixes it.
 */

export interface Profile {
  url: string;
  client_id: string;
  client_secret: string;
}

export interface ProfileFile {
  default_profile?: string;
  profiles: Record<string, Profile>;
}

/** The environment, passed in (only the composition roots read `process.env`). */
export type ProfileEnv = Readonly<Record<string, string | undefined>>;

export interface ConnectionFlags {
  url?: string;
  profile?: string;
  clientId?: string;
  clientSecret?: string;
}

export interface Connection {
  url: string;
  clientId: string;
  clientSecret: string;
  /** The profile that supplied the URL or the credentials, if one did. */
  profileName?: string;
}

/** A configuration problem the user fixes (the message says how); the CLI prints it without a stack. */
export class ProfileError extends Error {
  override name = 'ProfileError';
}

export const PROFILE_FILE_NAME = 'config.json';
export const LOCAL_PROFILE = 'local';
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NOTHING_CONFIGURED =
  'no NimbusPay credentials: run `nimbuspay login`, or start the platform with `npm start` (it writes the "local" profile), ' +
  'or set NIMBUSPAY_PUBLIC_URL, NIMBUSPAY_CLIENT_ID and NIMBUSPAY_CLIENT_SECRET';

export function profileDir(env: ProfileEnv): string {
  if (env.NIMBUSPAY_CONFIG_DIR) return path.resolve(env.NIMBUSPAY_CONFIG_DIR);
  if (env.XDG_CONFIG_HOME) return path.resolve(env.XDG_CONFIG_HOME, 'nimbuspay');
  return path.join(env.HOME || os.homedir(), '.config', 'nimbuspay');
}

export function profilePath(env: ProfileEnv): string {
  return path.join(profileDir(env), PROFILE_FILE_NAME);
}

export function assertProfileName(name: string): void {
  if (!PROFILE_NAME.test(name)) {
    throw new ProfileError(`invalid profile name "${name}": letters, digits, "_", "." and "-", up to 64 characters`);
  }
}

/** An http(s) URL without a trailing slash, or a ProfileError naming where it came from. */
export function normalizeUrl(value: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ProfileError(`${source} is not a URL: "${value}" (expected e.g. http://localhost:3000)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ProfileError(`${source} must be an http or https URL (got "${value}")`);
  }
  return value.replace(/\/+$/, '');
}

function readFileChecked(file: string, checkMode: boolean): ProfileFile | undefined {
  let text: string;
  try {
    if (checkMode && process.platform !== 'win32') {
      const mode = statSync(file).mode & 0o777;
      if (mode & 0o077) {
        throw new ProfileError(
          `${file} is accessible by other users (mode ${mode.toString(8).padStart(4, '0')}) and holds client secrets; ` +
          `it is ignored until you run: chmod 600 '${file}'`,
        );
      }
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ProfileError(`${file} is not valid JSON; fix it or delete it and run \`nimbuspay login\` again`);
  }
  return validateFile(data, file);
}

function validateFile(data: unknown, file: string): ProfileFile {
  const bad = (why: string) => new ProfileError(`${file}: ${why}`);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw bad('expected a JSON object');
  const { default_profile: def, profiles } = data as Record<string, unknown>;
  if (def !== undefined && typeof def !== 'string') throw bad('"default_profile" must be a string');
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) throw bad('"profiles" must be an object');
  const out: Record<string, Profile> = {};
  for (const [name, value] of Object.entries(profiles)) {
    const p = value as Partial<Record<keyof Profile, unknown>> | null;
    if (typeof p !== 'object' || p === null || typeof p.url !== 'string' || typeof p.client_id !== 'string' || typeof p.client_secret !== 'string') {
      throw bad(`profile "${name}" needs string "url", "client_id" and "client_secret"`);
    }
    out[name] = { url: p.url, client_id: p.client_id, client_secret: p.client_secret };
  }
  return def === undefined ? { profiles: out } : { default_profile: def, profiles: out };
}

/**
 * The profile file's contents; `{ profiles: {} }` when there is none. Throws ProfileError if it is invalid or, unless
 * `allowOpenMode` (for a caller that is about to rewrite it 0600 and uses no secret from it), too open.
 */
export function readProfiles(env: ProfileEnv, options: { allowOpenMode?: boolean } = {}): ProfileFile {
  return readFileChecked(profilePath(env), !options.allowOpenMode) ?? { profiles: {} };
}

function writeFileAtomic(env: ProfileEnv, contents: ProfileFile): string {
  const dir = profileDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, PROFILE_FILE_NAME);
  const temp = path.join(dir, `.${PROFILE_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': a fresh file, created with its final mode (the umask can only remove bits from 0600).
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      writeSync(fd, `${JSON.stringify(contents, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return file;
}

export interface WriteProfileOptions {
  /** true: becomes the default; 'if-none': only when no existing profile is the default; false/absent: unchanged. */
  makeDefault?: boolean | 'if-none';
}

/** Adds or replaces a profile. The existing file is rewritten (0600) even if its mode was too open. */
export function writeProfile(env: ProfileEnv, name: string, profile: Profile, options: WriteProfileOptions = {}): { path: string; isDefault: boolean } {
  assertProfileName(name);
  const entry: Profile = { url: normalizeUrl(profile.url, `the URL of profile "${name}"`), client_id: profile.client_id, client_secret: profile.client_secret };
  if (!entry.client_id || !entry.client_secret) throw new ProfileError(`profile "${name}" needs a client id and a client secret`);
  const current = readFileChecked(profilePath(env), false) ?? { profiles: {} };
  const profiles = { ...current.profiles, [name]: entry };
  let def = current.default_profile;
  const hasDefault = def !== undefined && def in profiles;
  if (options.makeDefault === true || (options.makeDefault === 'if-none' && !hasDefault)) def = name;
  const next: ProfileFile = def === undefined ? { profiles } : { default_profile: def, profiles };
  return { path: writeFileAtomic(env, next), isDefault: def === name };
}

/** Removes a profile (false if there was none); the default is cleared when it was that profile. */
export function removeProfile(env: ProfileEnv, name: string): boolean {
  const current = readFileChecked(profilePath(env), false);
  if (!current || !(name in current.profiles)) return false;
  const profiles = { ...current.profiles };
  delete profiles[name];
  const def = current.default_profile === name ? undefined : current.default_profile;
  writeFileAtomic(env, def === undefined ? { profiles } : { default_profile: def, profiles });
  return true;
}

function pickProfile(env: ProfileEnv, name: string | undefined): { name: string; profile: Profile } | undefined {
  const file = readProfiles(env);
  if (name !== undefined) {
    const profile = file.profiles[name];
    if (!profile) {
      const known = Object.keys(file.profiles);
      throw new ProfileError(`no profile "${name}" in ${profilePath(env)}` +
        (known.length ? ` (profiles: ${known.join(', ')})` : '; run `nimbuspay login --profile ' + name + '`'));
    }
    return { name, profile };
  }
  const def = file.default_profile;
  if (def === undefined) return undefined;
  const profile = file.profiles[def];
  if (!profile) throw new ProfileError(`the default profile "${def}" is missing from ${profilePath(env)}; run \`nimbuspay login\``);
  return { name: def, profile };
}

/**
 * Where a command connects, and as whom. Flags > environment > profile, with two rules that keep a secret from
 * going where it was not meant to:
 * - `--profile NAME` names the whole source: the environment is then ignored (only `--url` still overrides).
 * - The client id and secret are a pair taken from one source: half a pair in the environment is an error, not
 *   completed from a profile.
 */
export function resolveConnection({ env, flags = {} }: { env: ProfileEnv; flags?: ConnectionFlags }): Connection {
  if (flags.profile !== undefined) assertProfileName(flags.profile);
  if ((flags.clientId === undefined) !== (flags.clientSecret === undefined)) {
    throw new ProfileError('give both a client id and a client secret, or neither');
  }
  const explicitProfile = flags.profile !== undefined;
  const envId = explicitProfile ? undefined : env.NIMBUSPAY_CLIENT_ID || undefined;
  const envSecret = explicitProfile ? undefined : env.NIMBUSPAY_CLIENT_SECRET || undefined;
  if (!explicitProfile && flags.clientId === undefined && (envId === undefined) !== (envSecret === undefined)) {
    const [set, unset] = envId === undefined ? ['SECRET', 'ID'] : ['ID', 'SECRET'];
    throw new ProfileError(`NIMBUSPAY_CLIENT_${set} is set but NIMBUSPAY_CLIENT_${unset} is not; set both (eval "$(npx nimbuspay env)") or neither`);
  }
  const envUrl = explicitProfile ? undefined : env.NIMBUSPAY_PUBLIC_URL || undefined;

  const needProfile = explicitProfile || (flags.clientId === undefined && envId === undefined) || (flags.url === undefined && envUrl === undefined);
  const picked = needProfile ? pickProfile(env, flags.profile) : undefined;

  // half a pair in the flags or the environment was refused above
  const credentials = flags.clientId !== undefined && flags.clientSecret !== undefined
    ? { id: flags.clientId, secret: flags.clientSecret, fromProfile: false }
    : envId !== undefined && envSecret !== undefined
      ? { id: envId, secret: envSecret, fromProfile: false }
      : picked && { id: picked.profile.client_id, secret: picked.profile.client_secret, fromProfile: true };
  const url = flags.url !== undefined
    ? { value: normalizeUrl(flags.url, '--url'), fromProfile: false }
    : envUrl !== undefined
      ? { value: normalizeUrl(envUrl, 'NIMBUSPAY_PUBLIC_URL'), fromProfile: false }
      : picked && { value: picked.profile.url, fromProfile: true };
  if (!credentials || !url) {
    throw new ProfileError(credentials || url ? `${NOTHING_CONFIGURED} (the ${credentials ? 'URL' : 'client credentials'} could not be found)` : NOTHING_CONFIGURED);
  }
  const connection: Connection = { url: url.value, clientId: credentials.id, clientSecret: credentials.secret };
  if (picked && (credentials.fromProfile || url.fromProfile)) connection.profileName = picked.name;
  return connection;
}

/** A secret as `profiles` lists it: its last four characters. */
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '****' : `****${secret.slice(-4)}`;
}
