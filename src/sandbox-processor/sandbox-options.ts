import type { Logger } from 'pino';

export interface SandboxOptions {
  logger: Logger;
  /** PostgreSQL where the sandbox keeps its state, in its own `sandbox_processor` schema (created at start). */
  databaseUrl: string;
  /** Connections of the sandbox's pool (default 10). */
  databasePoolMax?: number;
  /** Added before every answer (default 0). */
  latencyMs?: number;
  /** Fraction (0..1) of requests answered 503 before anything is done (default 0). */
  errorRate?: number;
  /** How long the lost-response test cards hold their answer (default 30000). */
  lostResponseDelayMs?: number;
  /** Submission → settlement (or early return) of a bank debit; also submission → settlement of a credit (default 10000). */
  settlementDelayMs?: number;
  /** Settlement → late return for the late-return account (default 30000). */
  lateReturnDelayMs?: number;
  /** Where rail events are POSTed; undefined = do not push (NimbusPay polls). */
  notificationUrl?: string;
  /** HMAC secret for `Processor-Signature`; required when `notificationUrl` is set. */
  notificationSecret?: string;
  /** Total push attempts per event, first included (default 4). */
  notificationMaxAttempts?: number;
  /** Backoff before push retry n is `base * 2^(n-1)` (default 500). */
  notificationRetryBaseDelayMs?: number;
  /** Per-attempt timeout of a push (default 5000). */
  notificationTimeoutMs?: number;
  /** Longest pause between two looks at the notification outbox (default 200). */
  notificationPollIntervalMs?: number;
  /** Source of randomness for `errorRate` (default Math.random); tests may pin it. */
  random?: () => number;
}

export interface ResolvedSandboxOptions {
  logger: Logger;
  databaseUrl: string;
  databasePoolMax: number;
  latencyMs: number;
  errorRate: number;
  lostResponseDelayMs: number;
  settlementDelayMs: number;
  lateReturnDelayMs: number;
  notification: { url: string; secret: string } | undefined;
  notificationMaxAttempts: number;
  notificationRetryBaseDelayMs: number;
  notificationTimeoutMs: number;
  notificationPollIntervalMs: number;
  random: () => number;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`sandbox option ${name} must be a non-negative integer`);
  return v;
}

export function validateErrorRate(value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError('error rate must be between 0 and 1');
  return value;
}

export function resolveSandboxOptions(options: SandboxOptions): ResolvedSandboxOptions {
  if (!options.databaseUrl) throw new RangeError('sandbox option databaseUrl is required');
  // Checked here so a bad URL fails at boot; the message never repeats the URL, which carries a password.
  if (!URL.canParse(options.databaseUrl) || !/^postgres(ql)?:$/.test(new URL(options.databaseUrl).protocol)) {
    throw new RangeError('sandbox option databaseUrl must be a postgres:// URL');
  }
  const poolMax = nonNegativeInt('databasePoolMax', options.databasePoolMax, 10);
  if (poolMax < 1) throw new RangeError('sandbox option databasePoolMax must be at least 1');
  if (options.notificationUrl !== undefined) {
    const url = new URL(options.notificationUrl); // throws on a malformed URL: fail at boot, not at the first event
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('notificationUrl must be http(s)');
    if (!options.notificationSecret) throw new RangeError('notificationSecret is required with notificationUrl');
  }
  const maxAttempts = nonNegativeInt('notificationMaxAttempts', options.notificationMaxAttempts, 4);
  if (maxAttempts < 1) throw new RangeError('sandbox option notificationMaxAttempts must be at least 1');
  return {
    logger: options.logger,
    databaseUrl: options.databaseUrl,
    databasePoolMax: poolMax,
    latencyMs: nonNegativeInt('latencyMs', options.latencyMs, 0),
    errorRate: validateErrorRate(options.errorRate ?? 0),
    lostResponseDelayMs: nonNegativeInt('lostResponseDelayMs', options.lostResponseDelayMs, 30_000),
    settlementDelayMs: nonNegativeInt('settlementDelayMs', options.settlementDelayMs, 10_000),
    lateReturnDelayMs: nonNegativeInt('lateReturnDelayMs', options.lateReturnDelayMs, 30_000),
    notification:
      options.notificationUrl !== undefined && options.notificationSecret
        ? { url: options.notificationUrl, secret: options.notificationSecret }
        : undefined,
    notificationMaxAttempts: maxAttempts,
    notificationRetryBaseDelayMs: nonNegativeInt('notificationRetryBaseDelayMs', options.notificationRetryBaseDelayMs, 500),
    notificationTimeoutMs: nonNegativeInt('notificationTimeoutMs', options.notificationTimeoutMs, 5_000),
    notificationPollIntervalMs: nonNegativeInt('notificationPollIntervalMs', options.notificationPollIntervalMs, 200),
    random: options.random ?? Math.random,
  };
}
