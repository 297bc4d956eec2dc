import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import {
  LOCAL_PROFILE, maskSecret, normalizeUrl, ProfileError, profilePath, readProfiles, removeProfile, writeProfile,
  assertProfileName, type ProfileEnv,
} from '../profile.js';
import { exportLines } from '../profile-env.js';

/** `nimbuspay login | logout | env | profiles`: the profile file's commands (src/cli/profile.ts). */
export const PROFILE_COMMANDS = ['login', 'logout', 'env', 'profiles'] as const;

const USAGES = {
  login: `login [--url URL] [--client-id ID] [--client-secret-stdin] [--profile NAME] [--set-default]
                      check the credentials (a token from URL/oauth/token), then save them as profile NAME
                      (default "default", made the default profile); asks for what is missing on a terminal,
                      the secret without echo; elsewhere the secret comes on stdin`,
  logout: 'logout [--profile NAME]   remove a profile (default: the default profile)',
  env: 'env [--profile NAME]      print export lines for the shell: eval "$(npx nimbuspay env)"',
  profiles: 'profiles [--json]         list the profiles (secrets masked to their last 4 characters)',
} as const;

export const PROFILE_USAGE = `
Profile commands (the CLI's saved URL and client credentials, in $NIMBUSPAY_CONFIG_DIR/config.json, else
$XDG_CONFIG_HOME/nimbuspay/config.json, else ~/.config/nimbuspay/config.json; \`npm start\` writes the "local" profile):
${Object.values(USAGES).map((u) => `  ${u}`).join('\n')}
`;

const DEFAULT_LOGIN_PROFILE = 'default';
const VERIFY_TIMEOUT_MS = 15_000;

export interface ProfileCommandIo {
  env: ProfileEnv;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  fetch?: typeof fetch;
}

type Flags = Record<string, string | boolean | undefined>;

function parse(command: string, args: string[], options: Record<string, { type: 'string' | 'boolean' }>): Flags {
  try {
    const { values } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
    return values as Flags;
  } catch (err) {
    throw new ProfileError(`${(err as Error).message.replace(/\. To specify.*$/s, '')} (see \`nimbuspay ${command} --help\`)`);
  }
}

function usageOf(command: keyof typeof USAGES): string {
  return `Usage: nimbuspay ${USAGES[command]}\n`;
}

export async function runProfileCommand(command: string, args: string[], io: ProfileCommandIo): Promise<void> {
  switch (command) {
    case 'login': return login(args, io);
    case 'logout': return logout(args, io);
    case 'env': return printEnv(args, io);
    case 'profiles': return listProfiles(args, io);
    default: throw new ProfileError(`unknown profile command "${command}"`);
  }
}

async function login(args: string[], io: ProfileCommandIo): Promise<void> {
  const flags = parse('login', args, {
    url: { type: 'string' }, 'client-id': { type: 'string' }, 'client-secret-stdin': { type: 'boolean' },
    profile: { type: 'string' }, 'set-default': { type: 'boolean' },
  });
  if (flags.help) return void io.stdout.write(usageOf('login'));
  const name = (flags.profile as string | undefined) ?? DEFAULT_LOGIN_PROFILE;
  assertProfileName(name);
  const interactive = io.stdin.isTTY === true && !flags['client-secret-stdin'];
  const existing = readProfiles(io.env).profiles[name];

  let url = flags.url as string | undefined;
  let clientId = flags['client-id'] as string | undefined;
  let clientSecret: string | undefined;
  if (interactive) {
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
    try {
      const suggestedUrl = existing?.url ?? io.env.NIMBUSPAY_PUBLIC_URL ?? 'http://localhost:3000';
      url ??= (await rl.question(`API URL [${suggestedUrl}]: `)).trim() || suggestedUrl;
      while (!clientId) clientId = (await rl.question('Client ID: ')).trim();
    } finally {
      rl.close();
    }
    while (!clientSecret) clientSecret = await readHidden(io.stdin, io.stderr, 'Client secret (not shown): ');
  } else {
    if (!url) throw new ProfileError('--url is required when stdin is not a terminal');
    if (!clientId) throw new ProfileError('--client-id is required when stdin is not a terminal');
    if (!flags['client-secret-stdin']) throw new ProfileError('--client-secret-stdin is required when stdin is not a terminal (pipe the secret in; a secret in an argument would show in `ps`)');
    clientSecret = firstLine(await readAll(io.stdin));
    if (!clientSecret) throw new ProfileError('no client secret on stdin');
  }
  url = normalizeUrl(url, '--url');
  const granted = await verifyCredentials(url, clientId, clientSecret, io.fetch ?? fetch);
  const hasDefault = (() => { const f = readProfiles(io.env); return f.default_profile !== undefined && f.default_profile in f.profiles; })();
  const makeDefault = flags['set-default'] === true || name === DEFAULT_LOGIN_PROFILE || !hasDefault;
  const saved = writeProfile(io.env, name, { url, client_id: clientId, client_secret: clientSecret }, { makeDefault });
  io.stdout.write(`Logged in to ${url} as ${clientId}${granted.scope ? ` (scopes: ${granted.scope})` : ''}.\n` +
    `Saved profile "${name}"${saved.isDefault ? ' (the default)' : ''} to ${saved.path}\n`);
}

async function logout(args: string[], io: ProfileCommandIo): Promise<void> {
  const flags = parse('logout', args, { profile: { type: 'string' } });
  if (flags.help) return void io.stdout.write(usageOf('logout'));
  const name = (flags.profile as string | undefined) ?? readProfiles(io.env).default_profile;
  if (name === undefined) throw new ProfileError(`no default profile in ${profilePath(io.env)}; name one with --profile`);
  if (!removeProfile(io.env, name)) throw new ProfileError(`no profile "${name}" in ${profilePath(io.env)}`);
  io.stdout.write(`Removed profile "${name}" from ${profilePath(io.env)}\n`);
}

/**
 * Reads the profile only, never the environment: after `npm start` made a new local secret, `eval "$(npx nimbuspay
 * env)"` must replace what an earlier eval exported, not print it back.
 */
async function printEnv(args: string[], io: ProfileCommandIo): Promise<void> {
  const flags = parse('env', args, { profile: { type: 'string' } });
  if (flags.help) return void io.stdout.write(usageOf('env'));
  const file = readProfiles(io.env);
  const name = (flags.profile as string | undefined) ?? file.default_profile;
  if (name === undefined) {
    throw new ProfileError(`no profile in ${profilePath(io.env)}: run \`nimbuspay login\`, or start the platform with \`npm start\` (it writes the "${LOCAL_PROFILE}" profile)`);
  }
  const profile = file.profiles[name];
  if (!profile) throw new ProfileError(`no profile "${name}" in ${profilePath(io.env)}`);
  io.stdout.write(`${exportLines({ url: profile.url, clientId: profile.client_id, clientSecret: profile.client_secret }).join('\n')}\n`);
}

async function listProfiles(args: string[], io: ProfileCommandIo): Promise<void> {
  const flags = parse('profiles', args, { json: { type: 'boolean' } });
  if (flags.help) return void io.stdout.write(usageOf('profiles'));
  const file = readProfiles(io.env);
  const rows = Object.entries(file.profiles).map(([name, p]) => ({
    name, default: name === file.default_profile, url: p.url, client_id: p.client_id, client_secret: maskSecret(p.client_secret),
  }));
  if (flags.json) return void io.stdout.write(`${JSON.stringify({ path: profilePath(io.env), profiles: rows }, null, 2)}\n`);
  if (rows.length === 0) return void io.stdout.write(`No profiles in ${profilePath(io.env)}: run \`nimbuspay login\` or \`npm start\`.\n`);
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) io.stdout.write(`${r.default ? '*' : ' '} ${r.name.padEnd(width)}  ${r.url}  ${r.client_id}  ${r.client_secret}\n`);
}

/** A token from the URL's token endpoint, so a typo is caught at login rather than at the first command. */
async function verifyCredentials(url: string, clientId: string, clientSecret: string, fetchImpl: typeof fetch): Promise<{ scope?: string }> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  let res: Response;
  try {
    res = await fetchImpl(`${url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: 'grant_type=client_credentials',
      signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS),
    });
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    throw new ProfileError(`cannot reach ${url}/oauth/token (${reason}); is the URL right and the platform running? Nothing was saved.`);
  }
  const body = (await res.json().catch(() => undefined)) as { access_token?: string; scope?: string; error?: unknown; error_description?: string } | undefined;
  if (res.status === 200 && typeof body?.access_token === 'string') return body.scope === undefined ? {} : { scope: body.scope };
  const detail = body?.error_description ?? (typeof body?.error === 'string' ? body.error : `HTTP ${res.status}`);
  throw new ProfileError(res.status === 401
    ? `${url} refused the client id or secret (${detail}). Nothing was saved.`
    : `${url}/oauth/token answered ${res.status} (${detail}). Nothing was saved.`);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

function firstLine(text: string): string {
  return (text.split(/\r?\n/, 1)[0] ?? '').trim();
}

/** A line read from the terminal in raw mode, so the secret is never echoed (Ctrl-C cancels). */
function readHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WritableStream, question: string): Promise<string> {
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') { finish(); return resolve(value.trim()); }
        if (ch === '\u0003') { finish(); return reject(new ProfileError('cancelled; nothing was saved')); }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
