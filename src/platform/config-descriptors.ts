import { STAFF_ROLES } from './http/scopes.js';
import { base64Key, boolean, decimal, httpUrl, integer, millisecondsList, oneOf, pairs, text, list, type NonEmptyList, type Parser } from './config-parsers.js';

/**
 * The configuration table: every environment variable NimbusPay reads, once. The loader (config.ts), the `Config`
 * type, the error messages and the README's configuration table (scripts/readme-config.ts) are all derived from it.
 * Order matters: a default may refer to a setting above it (`template('http://localhost:$PORT')`), and
 * NIMBUSPAY_ENV comes first because per-environment defaults depend on it.
 */
export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export const PROCESSORS = ['sandbox', 'stripe'] as const;
export type ProcessorName = (typeof PROCESSORS)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A default that differs between development and every other environment. */
export class ByEnvironment<T> {
  constructor(readonly development: T, readonly elsewhere: T) {}
}

/** A default written in terms of settings above it: `$VARIABLE` stands for that setting's value. */
export class Template {
  constructor(readonly text: string) {}
}

const byEnvironment = <T>(development: T, elsewhere: T): ByEnvironment<T> => new ByEnvironment(development, elsewhere);
const template = (text: string): Template => new Template(text);

/**
 * What production refuses. `required`: the setting must be given (the reason says why a development default will
 * not do). `refuse`: values production must not run with; `refused` names them for the README.
 */
export type ProductionRule<T> =
  | { readonly required: string }
  | { refuse(value: T): boolean; readonly refused: string; readonly because: string };

interface SettingSpec<T> {
  readonly variable: string;
  readonly parser: Parser<T>;
  readonly description: string;
  /** Never shown: error messages say `<redacted>` instead of the value. */
  readonly secret?: boolean;
  readonly production?: ProductionRule<T>;
}

export interface Setting<T, HasDefault extends boolean> extends SettingSpec<T> {
  /** Whether the setting always has a value (a required key of `Config`) or may be unset (an optional one). */
  readonly hasDefault: HasDefault;
  readonly default?: T | ByEnvironment<T> | Template;
  /** For a setting without a default: what being unset means, for the README. */
  readonly unsetMeans?: string;
  /** For a setting without a default: another variable read when this one is unset. */
  readonly fallbackVariable?: string;
}

function setting<T>(spec: SettingSpec<T> & { default: NoInfer<T> | ByEnvironment<NoInfer<T>> | Template }): Setting<T, true>;
function setting<T>(spec: SettingSpec<T> & { unsetMeans?: string; fallbackVariable?: string }): Setting<T, false>;
function setting<T>(spec: SettingSpec<T> & { default?: T | ByEnvironment<T> | Template }): Setting<T, boolean> {
  return { ...spec, hasDefault: spec.default !== undefined };
}

const DAY_MS = 24 * 60 * 60 * 1000;
const portNumber = (min = 0) => integer({ min, max: 65535 });
const atLeast = (min: number) => integer({ min });
const generatedInDevelopment = 'generated in development';

export const SETTINGS = {
  env: setting({
    variable: 'NIMBUSPAY_ENV', parser: oneOf(ENVIRONMENTS), default: 'development',
    description: 'development | staging | production. Production refuses development defaults.',
  }),
  logLevel: setting({ variable: 'LOG_LEVEL', parser: oneOf(LOG_LEVELS), default: 'info', description: 'pino log level.' }),
  host: setting({
    variable: 'HOST', parser: text(), default: byEnvironment('127.0.0.1', '0.0.0.0'),
    description: 'Interface the HTTP servers bind to.',
  }),
  port: setting({ variable: 'PORT', parser: portNumber(), default: 3000, description: 'API port.' }),
  metricsPort: setting({
    variable: 'METRICS_PORT', parser: portNumber(),
    description: 'When set, /metrics is served on this port only (not on the public API port).',
  }),
  healthPort: setting({
    variable: 'HEALTH_PORT', parser: portNumber(), default: 3001,
    description: 'Port of the worker\'s /healthz, /readyz (and /metrics when METRICS_PORT is unset).',
  }),
  databaseUrl: setting({
    variable: 'DATABASE_URL', parser: text(), secret: true, unsetMeans: 'embedded PostgreSQL',
    production: { required: 'the embedded PostgreSQL is for development only' },
    description: 'PostgreSQL URL of the application role (not the table owner, no BYPASSRLS).',
  }),
  migrationDatabaseUrl: setting({
    variable: 'MIGRATION_DATABASE_URL', parser: text(), secret: true, fallbackVariable: 'DATABASE_URL',
    description: 'PostgreSQL URL of the table-owner role used by `nimbuspay migrate`.',
  }),
  dbPoolMax: setting({ variable: 'DB_POOL_MAX', parser: integer({ min: 1, max: 200 }), default: 10, description: 'Maximum connections per process.' }),
  dataDir: setting({
    variable: 'NIMBUSPAY_DATA_DIR', parser: text(), default: '.nimbuspay',
    description: 'Embedded PostgreSQL data and generated development secrets.',
  }),
  embeddedPgPort: setting({ variable: 'NIMBUSPAY_PG_PORT', parser: portNumber(1), default: 54329, description: 'Port of the embedded PostgreSQL.' }),
  publicUrl: setting({
    variable: 'NIMBUSPAY_PUBLIC_URL', parser: text({ trimTrailingSlashes: true }), default: template('http://localhost:$PORT'),
    description: 'Public base URL of the API (banner, docs, token URL).',
  }),
  issuerUrl: setting({
    variable: 'NIMBUSPAY_ISSUER_URL', parser: text({ trimTrailingSlashes: true }), default: template('$NIMBUSPAY_PUBLIC_URL'),
    production: { refuse: (url) => !url.startsWith('https://'), refused: 'a URL that is not https', because: 'tokens and OAuth metadata name it' },
    description: 'JWT `iss` and OAuth metadata issuer.',
  }),
  audience: setting({ variable: 'NIMBUSPAY_AUDIENCE', parser: text(), default: 'nimbuspay-api', description: 'JWT `aud` of access tokens.' }),
  accessTokenTtlSeconds: setting({
    variable: 'ACCESS_TOKEN_TTL_SECONDS', parser: integer({ min: 60, max: 3600 }), default: 900, description: 'Access token lifetime.',
  }),
  masterKey: setting({
    variable: 'NIMBUSPAY_MASTER_KEY', parser: base64Key(32), secret: true, unsetMeans: generatedInDevelopment,
    production: { required: 'a generated development key is not allowed' },
    description: 'Key encrypting signing keys and keying fingerprints.',
  }),
  adminClientId: setting({
    variable: 'NIMBUSPAY_ADMIN_CLIENT_ID', parser: text({ maxLength: 64 }), default: 'platform-admin',
    description: 'Client id of the platform admin OAuth client.',
  }),
  adminClientSecret: setting({
    variable: 'NIMBUSPAY_ADMIN_CLIENT_SECRET', parser: text({ minLength: 24 }), secret: true, unsetMeans: generatedInDevelopment,
    production: { required: 'a generated development secret is not allowed' },
    description: 'Secret of the platform admin client.',
  }),
  demoTenant: setting({
    variable: 'NIMBUSPAY_DEMO_TENANT', parser: boolean(), default: byEnvironment(true, false),
    production: { refuse: (demo) => demo, refused: '`true`', because: 'its credentials are printed at start' },
    description: 'Create a demo tenant and client at start and print its credentials.',
  }),
  processor: setting({
    variable: 'PROCESSOR', parser: oneOf(PROCESSORS), default: 'sandbox',
    production: { refuse: (processor) => processor === 'sandbox', refused: '`sandbox`', because: 'configure a real processor adapter' },
    description: 'Payment processor adapter: `sandbox` (development, staging) or `stripe`.',
  }),
  stripeSecretKey: setting({
    variable: 'STRIPE_SECRET_KEY', secret: true,
    parser: text({ pattern: /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, means: 'a Stripe secret key (sk_test_…, sk_live_…, or restricted rk_…)' }),
    description: 'Stripe secret key. Required with PROCESSOR=stripe; a test key is refused in production, a live key everywhere else.',
  }),
  stripeWebhookSecrets: setting({
    variable: 'STRIPE_WEBHOOK_SECRETS', secret: true, default: Object.freeze<string[]>([]),
    parser: list(text({ pattern: /^whsec_[A-Za-z0-9_+/=-]+$/, means: 'a whsec_… secret' }), 'whsec_… secrets'),
    description: 'Signing secrets of the Stripe webhook endpoint (several during rotation). Required with PROCESSOR=stripe.',
  }),
  stripeSearchConsistencyMs: setting({
    variable: 'STRIPE_SEARCH_CONSISTENCY_MS', parser: atLeast(0), default: 300_000,
    description: 'How old an attempt must be before Stripe\'s search (eventually consistent) finding nothing is believed; until then its payment stays `processing`.',
  }),
  stripeApiBase: setting({
    variable: 'STRIPE_API_BASE', parser: httpUrl(), unsetMeans: 'api.stripe.com',
    production: { refuse: () => true, refused: 'any value', because: 'it is for tests and local servers only' },
    description: 'Base URL of a Stripe-compatible server (tests and `npm start -- --processor=stripe-local` only).',
  }),
  sandboxDatabaseUrl: setting({
    variable: 'SANDBOX_DATABASE_URL', parser: text(), secret: true, unsetMeans: 'the embedded PostgreSQL\'s `nimbuspay_sandbox` database',
    description: 'PostgreSQL URL where the sandbox processor (and the local Stripe server) keep their state, in schemas of their own. Required to run the sandbox role outside `npm start`.',
  }),
  sandboxProcessorPort: setting({ variable: 'SANDBOX_PROCESSOR_PORT', parser: portNumber(), default: 3100, description: 'Port of the sandbox processor role.' }),
  sandboxProcessorUrl: setting({
    variable: 'SANDBOX_PROCESSOR_URL', parser: text({ trimTrailingSlashes: true }), default: template('http://127.0.0.1:$SANDBOX_PROCESSOR_PORT'),
    description: 'Where the API and worker reach the processor. A loopback URL is refused in production.',
  }),
  processorTimeoutMs: setting({
    variable: 'PROCESSOR_TIMEOUT_MS', parser: integer({ min: 1, max: 120_000 }), default: 10_000,
    description: 'Read timeout of processor calls; past it the outcome is unknown and reconciled.',
  }),
  processorConnectTimeoutMs: setting({
    variable: 'PROCESSOR_CONNECT_TIMEOUT_MS', parser: integer({ min: 1, max: 60_000 }), default: 2_000,
    description: 'Connect timeout of processor calls.',
  }),
  processorNotificationSecret: setting({
    variable: 'PROCESSOR_NOTIFICATION_SECRET', parser: text({ minLength: 16 }), secret: true, unsetMeans: generatedInDevelopment,
    description: 'HMAC secret shared with the processor for inbound notifications. Required in production with the sandbox processor.',
  }),
  sandboxLatencyMs: setting({ variable: 'SANDBOX_LATENCY_MS', parser: atLeast(0), default: 0, description: 'Latency the sandbox processor adds to every answer.' }),
  sandboxErrorRate: setting({
    variable: 'SANDBOX_ERROR_RATE', parser: decimal({ min: 0, max: 1 }), default: 0, description: 'Fraction of sandbox requests answered 503.',
  }),
  sandboxLostResponseDelayMs: setting({
    variable: 'SANDBOX_LOST_RESPONSE_DELAY_MS', parser: atLeast(0), default: 30_000,
    description: 'How long the sandbox holds answers for cards 4000000000000408 / …416.',
  }),
  sandboxSettlementDelayMs: setting({
    variable: 'SANDBOX_SETTLEMENT_DELAY_MS', parser: atLeast(0), default: 5_000, description: 'Sandbox rail: submission → settlement or early return.',
  }),
  sandboxLateReturnDelayMs: setting({
    variable: 'SANDBOX_LATE_RETURN_DELAY_MS', parser: atLeast(0), default: 15_000, description: 'Sandbox rail: settlement → late return.',
  }),
  sandboxNotificationUrl: setting({
    variable: 'SANDBOX_NOTIFICATION_URL', parser: text(), default: template('$NIMBUSPAY_PUBLIC_URL/v1/processor_notifications/sandbox'),
    description: 'Where the sandbox pushes rail notifications.',
  }),
  bankTransferSubmitDelayMs: setting({
    variable: 'BANK_TRANSFER_SUBMIT_DELAY_MS', parser: atLeast(0), default: 2_000,
    description: 'How long a bank transfer stays cancelable (rail `pending`) before the worker submits it.',
  }),
  bankExpectedSettlementMs: setting({
    variable: 'BANK_EXPECTED_SETTLEMENT_MS', parser: atLeast(0), default: byEnvironment(10_000, 2 * DAY_MS),
    description: 'Submission → expected settlement (`expected_settlement_at`); from then on the worker polls the rail if no notification came.',
  }),
  bankRailPollIntervalMs: setting({
    variable: 'BANK_RAIL_POLL_INTERVAL_MS', parser: atLeast(1), default: byEnvironment(5_000, 3_600_000),
    description: 'How often a transfer past its expected settlement, or settled and inside the return window, is polled at the rail.',
  }),
  bankReturnWindowMs: setting({
    variable: 'BANK_RETURN_WINDOW_MS', parser: atLeast(0), default: byEnvironment(60_000, 60 * DAY_MS),
    description: 'How long after settlement the worker keeps polling for a late return (ACH unauthorized returns come up to 60 days later).',
  }),
  reconcileIntervalsMs: setting({
    variable: 'RECONCILE_INTERVALS_MS', parser: millisecondsList(), default: Object.freeze<NonEmptyList<number>>([10_000, 60_000, 300_000]),
    description: 'Backoff of the reconciler asking the processor about unknown outcomes (last value repeats).',
  }),
  workerPollIntervalMs: setting({
    variable: 'WORKER_POLL_INTERVAL_MS', parser: atLeast(1), default: 250,
    description: 'How often idle worker loops look for due work. The webhook delivery loop is woken by LISTEN/NOTIFY for new deliveries and polls at this interval only for what becomes due by the clock (retries, expired leases); while its LISTEN connection is down it polls at least every 50 ms.',
  }),
  idempotencyKeyTtlHours: setting({
    variable: 'IDEMPOTENCY_KEY_TTL_HOURS', parser: atLeast(24), default: 24, description: 'Idempotency keys are kept at least this long, then purged.',
  }),
  eventRetentionDays: setting({ variable: 'EVENT_RETENTION_DAYS', parser: atLeast(1), default: 30, description: 'Events are kept this long, then purged.' }),
  requestLogRetentionDays: setting({
    variable: 'REQUEST_LOG_RETENTION_DAYS', parser: integer({ min: 1, max: 3650 }), default: 14,
    description: 'The support request log (method, route, status, latency; never bodies) is kept this long, then purged.',
  }),
  staffLocalLogin: setting({
    variable: 'STAFF_LOCAL_LOGIN', parser: boolean(), default: true,
    description: 'Allow staff to log in to the console with a local account (email, password and, outside development, TOTP). Turning it off needs STAFF_OIDC_ISSUER.',
  }),
  staffOidcIssuer: setting({
    variable: 'STAFF_OIDC_ISSUER', parser: httpUrl(), unsetMeans: 'no SSO',
    production: {
      refuse: (url) => !url.startsWith('https://'),
      refused: 'a URL that is not https',
      because: 'the authorization code and the ID token travel between the API and the identity provider',
    },
    description: 'Issuer URL of the company identity provider for console SSO (OpenID Connect, authorization code + PKCE).',
  }),
  staffOidcClientId: setting({
    variable: 'STAFF_OIDC_CLIENT_ID', parser: text({ maxLength: 255 }),
    description: 'OAuth client id of the console at the identity provider. Required with STAFF_OIDC_ISSUER.',
  }),
  staffOidcClientSecret: setting({
    variable: 'STAFF_OIDC_CLIENT_SECRET', parser: text(), secret: true,
    description: 'OAuth client secret of the console at the identity provider. Required with STAFF_OIDC_ISSUER (by the api role).',
  }),
  staffOidcRolesClaim: setting({
    variable: 'STAFF_OIDC_ROLES_CLAIM', parser: text({ maxLength: 255 }), default: 'nimbuspay_roles',
    description: 'ID token / userinfo claim listing the person\'s groups or roles.',
  }),
  staffOidcRoleMap: setting({
    variable: 'STAFF_OIDC_ROLE_MAP', parser: pairs(STAFF_ROLES), default: Object.freeze({}),
    description: '`group=role` pairs mapping the claim\'s values to roles; the highest role wins. Without pairs the claim\'s values are role names.',
  }),
  logsInsightsLogGroup: setting({
    variable: 'LOGS_INSIGHTS_LOG_GROUP', parser: text({ maxLength: 512 }),
    description: 'CloudWatch log group of the application logs; when set, the support timeline links each request id to a Logs Insights query. Needs AWS_REGION.',
  }),
  awsRegion: setting({
    variable: 'AWS_REGION', parser: text({ pattern: /^[a-z]{2}(-[a-z]+)+-[0-9]$/, means: 'an AWS region such as eu-west-1' }),
    description: 'AWS region of LOGS_INSIGHTS_LOG_GROUP.',
  }),
  webhookRetryScheduleMs: setting({
    variable: 'WEBHOOK_RETRY_SCHEDULE_MS', parser: millisecondsList(), unsetMeans: 'the schedule of src/modules/webhooks/retry-schedule.ts',
    description: 'Delays after the first delivery attempt (±20% jitter); then the delivery fails.',
  }),
  webhookTimeoutMs: setting({
    variable: 'WEBHOOK_TIMEOUT_MS', parser: integer({ min: 1, max: 60_000 }), default: 15_000, description: 'Timeout of one webhook delivery request.',
  }),
  webhookDisableAfterMs: setting({
    variable: 'WEBHOOK_DISABLE_AFTER_MS', parser: atLeast(1), default: 5 * DAY_MS, description: 'An endpoint failing continuously this long is disabled.',
  }),
  webhookAllowPrivateTargets: setting({
    variable: 'WEBHOOK_ALLOW_PRIVATE_TARGETS', parser: boolean(), default: byEnvironment(true, false),
    production: { refuse: (allowed) => allowed, refused: '`true`', because: 'SSRF guard' },
    description: 'Allow loopback/private webhook URLs.',
  }),
  webhookMaxConcurrencyPerEndpoint: setting({
    variable: 'WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT', parser: integer({ min: 1, max: 100 }), default: 4, description: 'Deliveries in flight to one endpoint.',
  }),
  shutdownTimeoutMs: setting({ variable: 'SHUTDOWN_TIMEOUT_MS', parser: atLeast(0), default: 10_000, description: 'Bound on draining in-flight work at SIGTERM.' }),
  bodyLimitBytes: setting({ variable: 'BODY_LIMIT_BYTES', parser: atLeast(1024), default: 65_536, description: 'Largest accepted request body.' }),
  trustProxyHops: setting({
    variable: 'TRUST_PROXY_HOPS', parser: integer({ min: 0, max: 10 }), default: byEnvironment(0, 1),
    description: 'Proxies in front of the API (elsewhere than development: the ALB) whose X-Forwarded-For entry is trusted; the client address is that many hops back (never the client-supplied left end).',
  }),
};

export type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;
/** Any row of the table, for code that walks all of them (the loader, the README). */
export type AnySetting = Setting<unknown, boolean>;

export function settingsInOrder(): Array<[SettingKey, AnySetting]> {
  return (Object.keys(SETTINGS) as SettingKey[]).map((key) => [key, SETTINGS[key]]);
}
