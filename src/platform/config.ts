import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The one configuration schema. `loadConfig` is the only reader of the environment; every other module receives
 * the frozen result. Values are strings in the environment and are converted here, once.
 */
export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const PROCESSORS = ['sandbox', 'stripe'] as const;
export type ProcessorName = (typeof PROCESSORS)[number];

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000,
];

export { CONFIG_VARIABLES } from './config-variables.js';

const ConfigSchema = Type.Object({
  env: Type.Union(ENVIRONMENTS.map((e) => Type.Literal(e))),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  metricsPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  healthPort: Type.Integer({ minimum: 0, maximum: 65535 }),
  databaseUrl: Type.Optional(Type.String({ minLength: 1 })),
  migrationDatabaseUrl: Type.Optional(Type.String({ minLength: 1 })),
  dbPoolMax: Type.Integer({ minimum: 1, maximum: 200 }),
  dataDir: Type.String({ minLength: 1 }),
  embeddedPgPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  publicUrl: Type.String({ minLength: 1 }),
  issuerUrl: Type.String({ minLength: 1 }),
  audience: Type.String({ minLength: 1 }),
  accessTokenTtlSeconds: Type.Integer({ minimum: 60, maximum: 3600 }),
  masterKey: Type.Optional(Type.String({ minLength: 1 })),
  adminClientId: Type.String({ minLength: 1, maxLength: 64 }),
  adminClientSecret: Type.Optional(Type.String({ minLength: 24 })),
  demoTenant: Type.Boolean(),
  processor: Type.Union(PROCESSORS.map((p) => Type.Literal(p))),
  stripeSecretKey: Type.Optional(Type.String({ pattern: '^(sk|rk)_(test|live)_[A-Za-z0-9_]+$' })),
  stripeWebhookSecrets: Type.Array(Type.String({ pattern: '^whsec_[A-Za-z0-9_+/=-]+$' })),
  stripeApiBase: Type.Optional(Type.String({ pattern: '^https?://' })),
  stripeSearchConsistencyMs: Type.Integer({ minimum: 0 }),
  sandboxDatabaseUrl: Type.Optional(Type.String({ minLength: 1 })),
  sandboxProcessorPort: Type.Integer({ minimum: 0, maximum: 65535 }),
  sandboxProcessorUrl: Type.String({ minLength: 1 }),
  processorTimeoutMs: Type.Integer({ minimum: 1, maximum: 120_000 }),
  processorConnectTimeoutMs: Type.Integer({ minimum: 1, maximum: 60_000 }),
  processorNotificationSecret: Type.Optional(Type.String({ minLength: 16 })),
  sandboxLatencyMs: Type.Integer({ minimum: 0 }),
  sandboxErrorRate: Type.Number({ minimum: 0, maximum: 1 }),
  sandboxLostResponseDelayMs: Type.Integer({ minimum: 0 }),
  sandboxSettlementDelayMs: Type.Integer({ minimum: 0 }),
  sandboxLateReturnDelayMs: Type.Integer({ minimum: 0 }),
  sandboxNotificationUrl: Type.String({ minLength: 1 }),
  bankTransferSubmitDelayMs: Type.Integer({ minimum: 0 }),
  bankExpectedSettlementMs: Type.Integer({ minimum: 0 }),
  bankRailPollIntervalMs: Type.Integer({ minimum: 1 }),
  bankReturnWindowMs: Type.Integer({ minimum: 0 }),
  reconcileIntervalsMs: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1 }),
  workerPollIntervalMs: Type.Integer({ minimum: 1 }),
  idempotencyKeyTtlHours: Type.Integer({ minimum: 24 }),
  eventRetentionDays: Type.Integer({ minimum: 1 }),
  requestLogRetentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  staffLocalLogin: Type.Boolean(),
  staffOidcIssuer: Type.Optional(Type.String({ pattern: '^https?://' })),
  staffOidcClientId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  staffOidcClientSecret: Type.Optional(Type.String({ minLength: 1 })),
  staffOidcRolesClaim: Type.String({ minLength: 1, maxLength: 255 }),
  staffOidcRoleMap: Type.Record(Type.String(), Type.Union([Type.Literal('support_agent'), Type.Literal('support_operator'), Type.Literal('platform_admin')])),
  logsInsightsLogGroup: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  awsRegion: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]$' })),
  webhookRetryScheduleMs: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1 }),
  webhookTimeoutMs: Type.Integer({ minimum: 1, maximum: 60_000 }),
  webhookDisableAfterMs: Type.Integer({ minimum: 1 }),
  webhookAllowPrivateTargets: Type.Boolean(),
  webhookMaxConcurrencyPerEndpoint: Type.Integer({ minimum: 1, maximum: 100 }),
  shutdownTimeoutMs: Type.Integer({ minimum: 0 }),
  bodyLimitBytes: Type.Integer({ minimum: 1024 }),
  trustProxyHops: Type.Integer({ minimum: 0, maximum: 10 }),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;
export type EnvSource = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function intList(raw: string): number[] {
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
}

function bool(raw: string | undefined, fallback: boolean, name: string, problems: string[]): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(raw.toLowerCase())) return false;
  problems.push(`${name} must be true or false (got "${raw}")`);
  return fallback;
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  } catch {
    return false;
  }
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
  const get = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const problems: string[] = [];
  const envName = get('NIMBUSPAY_ENV') ?? 'development';
  if (!(ENVIRONMENTS as readonly string[]).includes(envName)) problems.push(`NIMBUSPAY_ENV must be one of ${ENVIRONMENTS.join(', ')} (got "${envName}")`);
  const logLevel = get('LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`LOG_LEVEL must be a pino level (got "${logLevel}")`);
  const url = get('MIGRATION_DATABASE_URL') ?? get('DATABASE_URL');
  if (!url) problems.push('MIGRATION_DATABASE_URL or DATABASE_URL is required');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ env: envName as Environment, logLevel, migrationDatabaseUrl: url! });
}

/**
 * Parses the environment once. Throws ConfigError naming every wrong setting, so an operator fixes them all in one go.
 */
export function loadConfig(env: EnvSource): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const num = (name: string, fallback: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n)) problems.push(`${name} must be a number (got "${raw}")`);
    return n;
  };

  const envName = (get('NIMBUSPAY_ENV') ?? 'development') as Environment;
  const resolvedEnv: Environment = (ENVIRONMENTS as readonly string[]).includes(envName) ? envName : 'development';
  if (!(ENVIRONMENTS as readonly string[]).includes(envName)) {
    problems.push(`NIMBUSPAY_ENV must be one of ${ENVIRONMENTS.join(', ')} (got "${envName}")`);
  }
  const dev = resolvedEnv === 'development';
  const port = num('PORT', 3000);
  const sandboxPort = num('SANDBOX_PROCESSOR_PORT', 3100);
  const publicUrl = (get('NIMBUSPAY_PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const metricsPortRaw = get('METRICS_PORT');

  const candidate = {
    env: resolvedEnv,
    logLevel: get('LOG_LEVEL') ?? 'info',
    host: get('HOST') ?? (dev ? '127.0.0.1' : '0.0.0.0'),
    port,
    ...(metricsPortRaw !== undefined ? { metricsPort: num('METRICS_PORT', 0) } : {}),
    healthPort: num('HEALTH_PORT', 3001),
    ...(get('DATABASE_URL') ? { databaseUrl: get('DATABASE_URL') } : {}),
    ...(get('MIGRATION_DATABASE_URL') ?? get('DATABASE_URL')
      ? { migrationDatabaseUrl: get('MIGRATION_DATABASE_URL') ?? get('DATABASE_URL') }
      : {}),
    dbPoolMax: num('DB_POOL_MAX', 10),
    dataDir: get('NIMBUSPAY_DATA_DIR') ?? '.nimbuspay',
    embeddedPgPort: num('NIMBUSPAY_PG_PORT', 54329),
    publicUrl,
    issuerUrl: (get('NIMBUSPAY_ISSUER_URL') ?? publicUrl).replace(/\/+$/, ''),
    audience: get('NIMBUSPAY_AUDIENCE') ?? 'nimbuspay-api',
    accessTokenTtlSeconds: num('ACCESS_TOKEN_TTL_SECONDS', 900),
    ...(get('NIMBUSPAY_MASTER_KEY') ? { masterKey: get('NIMBUSPAY_MASTER_KEY') } : {}),
    adminClientId: get('NIMBUSPAY_ADMIN_CLIENT_ID') ?? 'platform-admin',
    ...(get('NIMBUSPAY_ADMIN_CLIENT_SECRET') ? { adminClientSecret: get('NIMBUSPAY_ADMIN_CLIENT_SECRET') } : {}),
    demoTenant: bool(get('NIMBUSPAY_DEMO_TENANT'), dev, 'NIMBUSPAY_DEMO_TENANT', problems),
    processor: get('PROCESSOR') ?? 'sandbox',
    ...(get('STRIPE_SECRET_KEY') ? { stripeSecretKey: get('STRIPE_SECRET_KEY') } : {}),
    stripeWebhookSecrets: (get('STRIPE_WEBHOOK_SECRETS') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    stripeSearchConsistencyMs: num('STRIPE_SEARCH_CONSISTENCY_MS', 300_000),
    ...(get('STRIPE_API_BASE') ? { stripeApiBase: get('STRIPE_API_BASE')!.replace(/\/+$/, '') } : {}),
    ...(get('SANDBOX_DATABASE_URL') ? { sandboxDatabaseUrl: get('SANDBOX_DATABASE_URL') } : {}),
    sandboxProcessorPort: sandboxPort,
    sandboxProcessorUrl: (get('SANDBOX_PROCESSOR_URL') ?? `http://127.0.0.1:${sandboxPort}`).replace(/\/+$/, ''),
    processorTimeoutMs: num('PROCESSOR_TIMEOUT_MS', 10_000),
    processorConnectTimeoutMs: num('PROCESSOR_CONNECT_TIMEOUT_MS', 2_000),
    ...(get('PROCESSOR_NOTIFICATION_SECRET')
      ? { processorNotificationSecret: get('PROCESSOR_NOTIFICATION_SECRET') }
      : {}),
    sandboxLatencyMs: num('SANDBOX_LATENCY_MS', 0),
    sandboxErrorRate: num('SANDBOX_ERROR_RATE', 0),
    sandboxLostResponseDelayMs: num('SANDBOX_LOST_RESPONSE_DELAY_MS', 30_000),
    sandboxSettlementDelayMs: num('SANDBOX_SETTLEMENT_DELAY_MS', 5_000),
    sandboxLateReturnDelayMs: num('SANDBOX_LATE_RETURN_DELAY_MS', 15_000),
    sandboxNotificationUrl: get('SANDBOX_NOTIFICATION_URL') ?? `${publicUrl}/v1/processor_notifications/sandbox`,
    bankTransferSubmitDelayMs: num('BANK_TRANSFER_SUBMIT_DELAY_MS', 2_000),
    bankExpectedSettlementMs: num('BANK_EXPECTED_SETTLEMENT_MS', dev ? 10_000 : 2 * DAY_MS),
    bankRailPollIntervalMs: num('BANK_RAIL_POLL_INTERVAL_MS', dev ? 5_000 : 3_600_000),
    bankReturnWindowMs: num('BANK_RETURN_WINDOW_MS', dev ? 60_000 : 60 * DAY_MS),
    reconcileIntervalsMs: intList(get('RECONCILE_INTERVALS_MS') ?? '10000,60000,300000'),
    workerPollIntervalMs: num('WORKER_POLL_INTERVAL_MS', 250),
    idempotencyKeyTtlHours: num('IDEMPOTENCY_KEY_TTL_HOURS', 24),
    eventRetentionDays: num('EVENT_RETENTION_DAYS', 30),
    requestLogRetentionDays: num('REQUEST_LOG_RETENTION_DAYS', 14),
    staffLocalLogin: bool(get('STAFF_LOCAL_LOGIN'), true, 'STAFF_LOCAL_LOGIN', problems),
    ...(get('STAFF_OIDC_ISSUER') ? { staffOidcIssuer: get('STAFF_OIDC_ISSUER')!.replace(/\/+$/, '') } : {}),
    ...(get('STAFF_OIDC_CLIENT_ID') ? { staffOidcClientId: get('STAFF_OIDC_CLIENT_ID') } : {}),
    ...(get('STAFF_OIDC_CLIENT_SECRET') ? { staffOidcClientSecret: get('STAFF_OIDC_CLIENT_SECRET') } : {}),
    staffOidcRolesClaim: get('STAFF_OIDC_ROLES_CLAIM') ?? 'nimbuspay_roles',
    staffOidcRoleMap: roleMap(get('STAFF_OIDC_ROLE_MAP'), problems),
    ...(get('LOGS_INSIGHTS_LOG_GROUP') ? { logsInsightsLogGroup: get('LOGS_INSIGHTS_LOG_GROUP') } : {}),
    ...(get('AWS_REGION') ? { awsRegion: get('AWS_REGION') } : {}),
    webhookRetryScheduleMs: get('WEBHOOK_RETRY_SCHEDULE_MS')
      ? intList(get('WEBHOOK_RETRY_SCHEDULE_MS')!)
      : DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS,
    webhookTimeoutMs: num('WEBHOOK_TIMEOUT_MS', 15_000),
    webhookDisableAfterMs: num('WEBHOOK_DISABLE_AFTER_MS', 5 * DAY_MS),
    webhookAllowPrivateTargets: bool(get('WEBHOOK_ALLOW_PRIVATE_TARGETS'), dev, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', problems),
    webhookMaxConcurrencyPerEndpoint: num('WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT', 4),
    shutdownTimeoutMs: num('SHUTDOWN_TIMEOUT_MS', 10_000),
    bodyLimitBytes: num('BODY_LIMIT_BYTES', 65_536),
    trustProxyHops: num('TRUST_PROXY_HOPS', dev ? 0 : 1),
  };

  for (const err of Value.Errors(ConfigSchema, candidate)) {
    const shown = SECRET_PATHS.has(err.path.replace(/\/\d+$/, '')) ? 'a value that is not shown' : JSON.stringify(err.value);
    problems.push(`${configNameForPath(err.path)}: ${err.message} (got ${shown})`);
  }
  if (resolvedEnv === 'production') problems.push(...productionProblems(candidate));
  problems.push(...staffLoginProblems(candidate, resolvedEnv));
  problems.push(...stripeProblems(candidate));
  if (candidate.masterKey !== undefined && Buffer.from(candidate.masterKey, 'base64').length !== 32) {
    problems.push('NIMBUSPAY_MASTER_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...candidate,
    reconcileIntervalsMs: Object.freeze([...candidate.reconcileIntervalsMs]),
    webhookRetryScheduleMs: Object.freeze([...candidate.webhookRetryScheduleMs]),
  }) as unknown as Config;
}

function productionProblems(c: {
  databaseUrl?: string | undefined;
  masterKey?: string | undefined;
  adminClientSecret?: string | undefined;
  processorNotificationSecret?: string | undefined;
  processor: string;
  webhookAllowPrivateTargets: boolean;
  issuerUrl: string;
  sandboxProcessorUrl: string;
  demoTenant: boolean;
}): string[] {
  const p: string[] = [];
  if (!c.databaseUrl) p.push('DATABASE_URL is required in production (the embedded PostgreSQL is for development only)');
  if (!c.masterKey) p.push('NIMBUSPAY_MASTER_KEY is required in production (a generated development key is not allowed)');
  if (!c.adminClientSecret) p.push('NIMBUSPAY_ADMIN_CLIENT_SECRET is required in production (a generated development secret is not allowed)');
  if (!c.processorNotificationSecret && c.processor === 'sandbox') p.push('PROCESSOR_NOTIFICATION_SECRET is required in production');
  if (c.processor === 'sandbox') p.push('PROCESSOR=sandbox is not allowed in production: configure a real processor adapter');
  if (isLoopbackUrl(c.sandboxProcessorUrl) && c.processor === 'sandbox') {
    p.push('SANDBOX_PROCESSOR_URL points at a loopback sandbox processor, which is not allowed in production');
  }
  if (c.webhookAllowPrivateTargets) p.push('WEBHOOK_ALLOW_PRIVATE_TARGETS=true is not allowed in production (SSRF guard)');
  if (!c.issuerUrl.startsWith('https://')) p.push(`NIMBUSPAY_ISSUER_URL must be https in production (got "${c.issuerUrl}")`);
  if (c.demoTenant) p.push('NIMBUSPAY_DEMO_TENANT=true is not allowed in production');
  return p;
}

/** `group=role,group=role`; an unknown role is a configuration error, not a silently powerless mapping. */
function roleMap(raw: string | undefined, problems: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.lastIndexOf('=');
    const group = pair.slice(0, eq).trim();
    const role = pair.slice(eq + 1).trim();
    if (eq <= 0 || !['support_agent', 'support_operator', 'platform_admin'].includes(role)) {
      problems.push(`STAFF_OIDC_ROLE_MAP: "${pair}" is not group=support_agent|support_operator|platform_admin`);
      continue;
    }
    map[group] = role;
  }
  return map;
}

function staffLoginProblems(
  c: { staffLocalLogin: boolean; staffOidcIssuer?: string | undefined; staffOidcClientId?: string | undefined; logsInsightsLogGroup?: string | undefined; awsRegion?: string | undefined },
  env: Environment,
): string[] {
  const p: string[] = [];
  if (!c.staffLocalLogin && !c.staffOidcIssuer) p.push('STAFF_LOCAL_LOGIN=false needs STAFF_OIDC_ISSUER: otherwise nobody can sign in to the support console');
  // The authorization code and the ID token travel between the API and the IdP: never in clear outside a laptop.
  if (env === 'production' && c.staffOidcIssuer && !c.staffOidcIssuer.startsWith('https://')) {
    p.push(`STAFF_OIDC_ISSUER must be https in production (got "${c.staffOidcIssuer}")`);
  }
  // The client secret is checked where it is used (the api role, see src/main/modules.ts): the issuer and client id
  // sit in the ConfigMap every role reads, the secret only in the api's and worker's Secret.
  if (c.staffOidcIssuer && !c.staffOidcClientId) p.push('STAFF_OIDC_CLIENT_ID is required with STAFF_OIDC_ISSUER');
  if (c.logsInsightsLogGroup && !c.awsRegion) p.push('AWS_REGION is required with LOGS_INSIGHTS_LOG_GROUP');
  return p;
}

/**
 * A Stripe key says which world it moves money in: a test key in production would take no real payments, a live key
 * anywhere else would take real ones from a development or staging machine.
 */
function stripeProblems(c: { env: Environment; processor: string; stripeSecretKey?: string | undefined; stripeWebhookSecrets: string[]; stripeApiBase?: string | undefined }): string[] {
  const p: string[] = [];
  if (c.processor === 'stripe') {
    if (!c.stripeSecretKey) p.push('STRIPE_SECRET_KEY is required with PROCESSOR=stripe');
    if (c.stripeWebhookSecrets.length === 0) p.push('STRIPE_WEBHOOK_SECRETS is required with PROCESSOR=stripe (the whsec_… secret of the webhook endpoint)');
  }
  const live = c.stripeSecretKey !== undefined && /^(sk|rk)_live_/.test(c.stripeSecretKey);
  const test = c.stripeSecretKey !== undefined && /^(sk|rk)_test_/.test(c.stripeSecretKey);
  if (c.env === 'production' && test) p.push('STRIPE_SECRET_KEY is a test key (sk_test_…), which is not allowed in production');
  if (c.env !== 'production' && live) p.push(`STRIPE_SECRET_KEY is a live key (sk_live_…), which is not allowed in ${c.env}`);
  if (c.env === 'production' && c.stripeApiBase !== undefined) p.push('STRIPE_API_BASE is for tests and local servers only; it is not allowed in production');
  return p;
}

/** Settings whose values never appear in an error message. */
const SECRET_PATHS: ReadonlySet<string> = new Set([
  '/masterKey', '/adminClientSecret', '/processorNotificationSecret', '/stripeSecretKey', '/stripeWebhookSecrets', '/staffOidcClientSecret',
]);

const PATH_TO_VAR: Record<string, string> = {
  '/stripeSecretKey': 'STRIPE_SECRET_KEY', '/stripeWebhookSecrets': 'STRIPE_WEBHOOK_SECRETS', '/stripeApiBase': 'STRIPE_API_BASE',
  '/sandboxDatabaseUrl': 'SANDBOX_DATABASE_URL', '/stripeSearchConsistencyMs': 'STRIPE_SEARCH_CONSISTENCY_MS',
  '/env': 'NIMBUSPAY_ENV', '/logLevel': 'LOG_LEVEL', '/host': 'HOST', '/port': 'PORT', '/metricsPort': 'METRICS_PORT',
  '/healthPort': 'HEALTH_PORT', '/dbPoolMax': 'DB_POOL_MAX', '/embeddedPgPort': 'NIMBUSPAY_PG_PORT',
  '/accessTokenTtlSeconds': 'ACCESS_TOKEN_TTL_SECONDS', '/adminClientSecret': 'NIMBUSPAY_ADMIN_CLIENT_SECRET',
  '/processor': 'PROCESSOR', '/processorTimeoutMs': 'PROCESSOR_TIMEOUT_MS',
  '/processorNotificationSecret': 'PROCESSOR_NOTIFICATION_SECRET', '/sandboxErrorRate': 'SANDBOX_ERROR_RATE',
  '/idempotencyKeyTtlHours': 'IDEMPOTENCY_KEY_TTL_HOURS', '/webhookTimeoutMs': 'WEBHOOK_TIMEOUT_MS',
  '/reconcileIntervalsMs': 'RECONCILE_INTERVALS_MS', '/webhookRetryScheduleMs': 'WEBHOOK_RETRY_SCHEDULE_MS',
  '/bodyLimitBytes': 'BODY_LIMIT_BYTES', '/trustProxyHops': 'TRUST_PROXY_HOPS',
};

function configNameForPath(path: string): string {
  const base = path.replace(/\/\d+$/, '');
  return PATH_TO_VAR[base] ?? base.replace(/^\//, '').replace(/[A-Z]/g, (m) => `_${m}`).toUpperCase();
}
