import type { Parser } from './config-parsers.js';
import {
  ByEnvironment, SETTINGS, Template, settingsInOrder, type AnySetting, type Environment, type SettingKey, type Settings,
} from './config-descriptors.js';

/**
 * Loads the configuration described by the table in config-descriptors.ts. `loadConfig` is the only reader of the
 * environment; every other module receives the frozen result. Values are strings in the environment and are
 * converted here, once.
 */
export { ENVIRONMENTS, PROCESSORS, type Environment, type ProcessorName } from './config-descriptors.js';

type ValueOf<S> = S extends { parser: Parser<infer T> } ? T : never;
type Flatten<T> = { [K in keyof T]: T[K] };
/** The values of some settings: a setting with a default is always there, one without may be missing. */
type Values<K extends SettingKey> = Flatten<
  { readonly [P in K as Settings[P]['hasDefault'] extends true ? P : never]: ValueOf<Settings[P]> } & {
    readonly [P in K as Settings[P]['hasDefault'] extends true ? never : P]?: ValueOf<Settings[P]>;
  }
>;

export type Config = Values<SettingKey>;
export type EnvSource = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** How a value appears in a message: quoted as given, or not at all for a secret. */
function shown(setting: AnySetting, text: string): string {
  return setting.secret ? '<redacted>' : `'${text}'`;
}

function expandTemplate(owner: AnySetting, template: Template, resolved: ReadonlyMap<string, string>): string {
  return template.text.replace(/\$([A-Z][A-Z0-9_]*)/g, (_, variable: string) => {
    const value = resolved.get(variable);
    // The table's order is fixed: a default that reads a setting below it (or an unset one) is a bug in the table.
    if (value === undefined) throw new Error(`${owner.variable}'s default refers to $${variable}, which has no value above it`);
    return value;
  });
}

function productionProblem(setting: AnySetting, value: unknown): string | undefined {
  const rule = setting.production;
  if (rule === undefined) return undefined;
  if ('required' in rule) return value === undefined ? `${setting.variable} is required in production (${rule.required})` : undefined;
  if (value === undefined || !rule.refuse(value)) return undefined;
  return `${setting.variable}=${setting.secret ? '<redacted>' : setting.parser.format(value)} is not allowed in production (${rule.because})`;
}

/**
 * Reads `keys` (in the table's order) from the environment. A value that does not parse is reported under its real
 * variable name and replaced by the default, so the remaining rules still run and every problem is named at once.
 */
function readSettings<K extends SettingKey>(env: EnvSource, keys: readonly K[]): { values: Values<K>; problems: string[] } {
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  /** variable → its value as text, for the templates of settings further down. */
  const resolved = new Map<string, string>();
  let environment: Environment = 'development';
  for (const [key, setting] of settingsInOrder()) {
    if (!(keys as readonly SettingKey[]).includes(key)) continue;
    const source = get(setting.variable) !== undefined ? setting.variable : setting.fallbackVariable;
    const given = source === undefined ? undefined : get(source);
    let value: unknown;
    if (given !== undefined) {
      const parsed = setting.parser.parse(given);
      if (parsed.ok) value = parsed.value;
      else problems.push(`${source} must be ${parsed.expected} (got ${shown(setting, given)})`);
    }
    if (value === undefined) value = defaultValue(setting, environment, resolved, problems);
    if (key === 'env' && (value === 'development' || value === 'staging' || value === 'production')) environment = value;
    if (value !== undefined) {
      values[key] = value;
      resolved.set(setting.variable, setting.parser.format(value));
    }
  }
  if (environment === 'production') {
    for (const [key, setting] of settingsInOrder()) {
      const problem = (keys as readonly SettingKey[]).includes(key) ? productionProblem(setting, values[key]) : undefined;
      if (problem !== undefined) problems.push(problem);
    }
  }
  // The loop above stored, for each of `keys`, what that setting's own parser (or its typed default) produced.
  return { values: values as Values<K>, problems };
}

function defaultValue(setting: AnySetting, environment: Environment, resolved: ReadonlyMap<string, string>, problems: string[]): unknown {
  const d = setting.default;
  if (d instanceof ByEnvironment) return environment === 'development' ? d.development : d.elsewhere;
  if (!(d instanceof Template)) return d;
  const text = expandTemplate(setting, d, resolved);
  const parsed = setting.parser.parse(text);
  if (parsed.ok) return parsed.value;
  problems.push(`${setting.variable} (by default ${d.text}) must be ${parsed.expected} (got ${shown(setting, text)})`);
  return undefined;
}

/** What `nimbuspay migrate` reads: the owner's database URL and the log level, nothing secret besides the URL. */
export interface MigrationConfig {
  readonly env: Environment;
  readonly logLevel: string;
  readonly migrationDatabaseUrl: string;
}

/**
 * The migrate role's own configuration. It validates only what migrating uses, so the migrations Job never needs
 * the application's secrets (master key, admin secret, processor keys) to be mounted.
 */
export function loadMigrationConfig(env: EnvSource): MigrationConfig {
  const { values, problems } = readSettings(env, ['env', 'logLevel', 'migrationDatabaseUrl']);
  const url = values.migrationDatabaseUrl;
  if (url === undefined) {
    const { variable, fallbackVariable } = SETTINGS.migrationDatabaseUrl;
    problems.push(`${variable} or ${fallbackVariable} is required`);
  }
  if (problems.length > 0 || url === undefined) throw new ConfigError(problems);
  return Object.freeze({ env: values.env, logLevel: values.logLevel, migrationDatabaseUrl: url });
}

/**
 * Parses the environment once. Throws ConfigError naming every wrong setting, so an operator fixes them all in one go.
 */
export function loadConfig(env: EnvSource): Config {
  const { values, problems } = readSettings(env, settingsInOrder().map(([key]) => key));
  problems.push(...relationProblems(values));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values);
}

const name = (key: SettingKey): string => SETTINGS[key].variable;

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  } catch {
    return false;
  }
}

/** The rules that tie settings together (a rule on one setting alone is in the table). */
function relationProblems(c: Config): string[] {
  const p: string[] = [];
  const production = c.env === 'production';
  if (production && c.processor === 'sandbox') {
    if (!c.processorNotificationSecret) p.push(`${name('processorNotificationSecret')} is required in production`);
    if (isLoopbackUrl(c.sandboxProcessorUrl)) {
      p.push(`${name('sandboxProcessorUrl')} points at a loopback sandbox processor, which is not allowed in production`);
    }
  }
  if (!c.staffLocalLogin && !c.staffOidcIssuer) {
    p.push(`${name('staffLocalLogin')}=false needs ${name('staffOidcIssuer')}: otherwise nobody can sign in to the support console`);
  }
  // The client secret is checked where it is used (the api role, see src/main/modules.ts): the issuer and client id
  // sit in the ConfigMap every role reads, the secret only in the api's and worker's Secret.
  if (c.staffOidcIssuer && !c.staffOidcClientId) p.push(`${name('staffOidcClientId')} is required with ${name('staffOidcIssuer')}`);
  if (c.logsInsightsLogGroup && !c.awsRegion) p.push(`${name('awsRegion')} is required with ${name('logsInsightsLogGroup')}`);
  return [...p, ...stripeProblems(c)];
}

/**
 * A Stripe key says which world it moves money in: a test key in production would take no real payments, a live key
 * anywhere else would take real ones from a development or staging machine.
 */
function stripeProblems(c: Config): string[] {
  const p: string[] = [];
  const key = name('stripeSecretKey');
  if (c.processor === 'stripe') {
    if (!c.stripeSecretKey) p.push(`${key} is required with ${name('processor')}=stripe`);
    if (c.stripeWebhookSecrets.length === 0) {
      p.push(`${name('stripeWebhookSecrets')} is required with ${name('processor')}=stripe (the whsec_… secret of the webhook endpoint)`);
    }
  }
  const live = c.stripeSecretKey !== undefined && /^(sk|rk)_live_/.test(c.stripeSecretKey);
  const test = c.stripeSecretKey !== undefined && /^(sk|rk)_test_/.test(c.stripeSecretKey);
  if (c.env === 'production' && test) p.push(`${key} is a test key (sk_test_…), which is not allowed in production`);
  if (c.env !== 'production' && live) p.push(`${key} is a live key (sk_live_…), which is not allowed in ${c.env}`);
  return p;
}
