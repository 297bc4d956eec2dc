import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Second net behind `Secret`: paths that must never reach a log line in clear, whatever a caller passes.
 * Card and bank fields are censored wherever they appear at these depths.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  'authorization',
  'password',
  'secret',
  'client_secret',
  '*.client_secret',
  '*.secret',
  '*.password',
  '*.private_key',
  '*.privateKey',
  '*.master_key',
  '*.masterKey',
  'card.number',
  'card.cvc',
  '*.card.number',
  '*.card.cvc',
  '*.*.card.number',
  '*.*.card.cvc',
  'account_number',
  '*.account_number',
  '*.*.account_number',
  '*.*.*.account_number',
  'body',
  '*.body',
];

export function createLogger(
  options: { level: string; name?: string; base?: Record<string, unknown> },
  destination?: DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    level: options.level,
    base: { service: 'nimbuspay', ...(options.name ? { role: options.name } : {}), ...options.base },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(opts, destination) : pino(opts);
}
