import { parseArgs } from 'node:util';
import { NimbusPay, NimbusPayError } from '@nimbuspay/sdk';
import { EXIT } from '../main/admin-cli.js';
import { ProfileError, resolveConnection, type ProfileEnv } from './profile.js';
import { table } from './text-table.js';

// The pieces every integrator command shares: flags, the connection (flags > environment > profile), the SDK client,
// output as tables or raw JSON, and exit codes that tell a typo from a refused credential from a server that is down.

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export interface CliIo {
  env: ProfileEnv;
  out(text: string): void;
  err(text: string): void;
  /** Aborted on SIGINT/SIGTERM: long-running commands (listen, logs tail --follow) stop cleanly. */
  signal: AbortSignal;
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
export type Flags = Record<string, string | boolean | string[] | undefined>;

/** One command: its help text (usage line first), its own flags and what it does. */
export interface Command {
  usage: string;
  options: OptionSpec;
  /** positional arguments it takes, by name, for the usage error */
  positionals?: string[];
  run(ctx: CommandContext): Promise<void>;
}

export interface CommandContext {
  io: CliIo;
  flags: Flags;
  positionals: string[];
  /** The positional argument declared under `name` in the command's `positionals` (their count is checked). */
  positional(name: string): string;
  json: boolean;
  /** The SDK client on the resolved connection (made on first use: help and usage errors need none). */
  client(): NimbusPay;
  /** Prints raw JSON with --json, else the human form. */
  print(data: unknown, human: () => string): void;
}

const COMMON: OptionSpec = {
  json: { type: 'boolean' }, url: { type: 'string' }, profile: { type: 'string' }, help: { type: 'boolean', short: 'h' },
};

export const COMMON_OPTIONS_HELP = `Options for every command:
  --json              print the API's JSON instead of a table
  --url URL           the API base URL (default: NIMBUSPAY_PUBLIC_URL, else the profile's)
  --profile NAME      use this saved profile (see \`nimbuspay login\`); credentials come from NIMBUSPAY_CLIENT_ID /
                      NIMBUSPAY_CLIENT_SECRET, else the default profile
  -h, --help          this help
`;

export function usageError(message: string, usage: string): CliError {
  return new CliError(`${message}\n\n${usage}`, EXIT.usage);
}

export async function runCommand(name: string, command: Command, args: string[], io: CliIo): Promise<void> {
  const help = `Usage: nimbuspay ${command.usage}\n\n${COMMON_OPTIONS_HELP}`;
  let parsed: { values: Flags; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...command.options }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw usageError(`${(err as Error).message.replace(/\. To specify.*$/s, '')} (nimbuspay ${name})`, help);
  }
  if (parsed.values.help) return io.out(help);
  const expected = command.positionals ?? [];
  if (parsed.positionals.length !== expected.length) {
    throw usageError(expected.length === 0 ? `unexpected argument '${parsed.positionals[0]}'` : `expected ${expected.join(' ')}`, help);
  }
  let np: NimbusPay | undefined;
  const json = parsed.values.json === true;
  const ctx: CommandContext = {
    io,
    flags: parsed.values,
    positionals: parsed.positionals,
    positional(argName) {
      const value = parsed.positionals[expected.indexOf(argName)];
      if (value === undefined) throw new Error(`nimbuspay ${name} declares no positional argument ${argName}`);
      return value;
    },
    json,
    client() {
      np ??= connect(io.env, parsed.values);
      return np;
    },
    print(data, human) {
      io.out(json ? `${JSON.stringify(data, null, 2)}\n` : human());
    },
  };
  try {
    await command.run(ctx);
  } catch (err) {
    throw toCliError(err);
  }
}

function connect(env: ProfileEnv, flags: Flags): NimbusPay {
  const c = resolveConnection({
    env,
    flags: {
      ...(typeof flags.url === 'string' ? { url: flags.url } : {}),
      ...(typeof flags.profile === 'string' ? { profile: flags.profile } : {}),
    },
  });
  return new NimbusPay({ baseUrl: c.url, clientId: c.clientId, clientSecret: c.clientSecret, userAgent: 'nimbuspay-cli' });
}

/** API errors keep their code and request id in the message; the exit code says what kind of failure it was. */
export function toCliError(err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof ProfileError) return new CliError(err.message, EXIT.config);
  if (err instanceof NimbusPayError) {
    if (err.status === 0) return new CliError(`cannot reach the NimbusPay API (${err.message}); is it running? (--url, NIMBUSPAY_PUBLIC_URL or the profile)`, EXIT.unavailable);
    const detail = `${err.message} (${err.code}, HTTP ${err.status}${err.requestId ? `, request_id ${err.requestId}` : ''})${err.docUrl ? `\n  see ${err.docUrl}` : ''}`;
    if (err.status === 401 || err.status === 403) return new CliError(detail, EXIT.noPermission);
    if (err.status === 503 || err.status === 502 || err.status === 504) return new CliError(detail, EXIT.unavailable);
    return new CliError(detail, EXIT.apiError);
  }
  return err;
}

// ---- output -----------------------------------------------------------------------------------------------------

export function fields(obj: Record<string, unknown>, keys: string[]): string {
  return keys.map((k) => {
    const v = obj[k];
    const text = v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `${`${k}:`.padEnd(22)}${text}\n`;
  }).join('');
}

/** A list page: a table, and how to get the next one. */
export function pageText(page: { data: Array<Record<string, unknown>>; has_more: boolean }, columns: string[]): string {
  const last = page.data[page.data.length - 1];
  return table(page.data, columns) + (page.has_more && last ? `(more: --starting-after ${String(last.id)})\n` : '');
}

// ---- flag values ---------------------------------------------------------------------------------------------------

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredFlag(flags: Flags, name: string, usage: string): string {
  const v = stringFlag(flags, name);
  if (v === undefined || v.trim() === '') throw usageError(`--${name} is required`, `Usage: nimbuspay ${usage}`);
  return v;
}

/** A whole number flag (amounts are minor units: 20.00 is refused here as the API refuses it). */
export function integerFlag(flags: Flags, name: string, usage: string, options: { min?: number } = {}): number | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < (options.min ?? 0)) {
    throw usageError(`--${name} must be a whole number${options.min ? ` of at least ${options.min}` : ''} (got '${v}')`, `Usage: nimbuspay ${usage}`);
  }
  return Number(v);
}

/** `--metadata key=value` (repeatable) as an object. */
export function keyValueFlags(flags: Flags, name: string, usage: string): Record<string, string> | undefined {
  const v = flags[name];
  if (!Array.isArray(v) || v.length === 0) return undefined;
  return Object.fromEntries(v.map((pair) => {
    const i = pair.indexOf('=');
    if (i <= 0) throw usageError(`--${name} takes key=value (got '${pair}')`, `Usage: nimbuspay ${usage}`);
    return [pair.slice(0, i), pair.slice(i + 1)];
  }));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
