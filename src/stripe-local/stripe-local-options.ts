import Stripe from 'stripe';
import type { Logger } from 'pino';

export interface StripeLocalWebhookOptions {
  url: string;
  /** The endpoint's signing secret (`whsec_…`), as the receiver gives it to `stripe.webhooks.constructEvent`. */
  secret: string;
  retryBaseDelayMs?: number;
  maxRetryDelayMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
}

export interface StripeLocalOptions {
  logger: Logger;
  /** PostgreSQL where the state lives, in the schema `stripe_local` (created at start). */
  databaseUrl: string;
  /** The one secret key accepted; unset, any `sk_test_…` (or `rk_test_…`) key is. */
  apiKey?: string;
  webhook?: StripeLocalWebhookOptions;
  /** How long a bank debit stays `processing`, and a bank refund `pending`, before they settle. */
  settlementDelayMs?: number;
  /** Jitter for webhook retries (tests pass a fixed one). */
  random?: () => number;
  idempotencyKeyTtlMs?: number;
  /** How often due settlements and webhook deliveries are looked for when idle. */
  pollIntervalMs?: number;
  /** The account's default API version: events are rendered with it, and it answers when no Stripe-Version is sent. */
  apiVersion?: string;
}

export interface ResolvedStripeLocalOptions {
  logger: Logger;
  databaseUrl: string;
  apiKey: string | undefined;
  webhook: Required<StripeLocalWebhookOptions> | undefined;
  settlementDelayMs: number;
  random: () => number;
  idempotencyKeyTtlMs: number;
  pollIntervalMs: number;
  apiVersion: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function resolveStripeLocalOptions(options: StripeLocalOptions): ResolvedStripeLocalOptions {
  if (options.apiKey !== undefined && !/^(sk|rk)_test_/.test(options.apiKey)) {
    throw new Error('stripe-local: apiKey must be a test mode key (sk_test_… or rk_test_…)');
  }
  return {
    logger: options.logger,
    databaseUrl: options.databaseUrl,
    apiKey: options.apiKey,
    webhook: options.webhook
      ? {
          url: options.webhook.url,
          secret: options.webhook.secret,
          retryBaseDelayMs: options.webhook.retryBaseDelayMs ?? 1_000,
          maxRetryDelayMs: options.webhook.maxRetryDelayMs ?? 60 * 60 * 1000,
          maxAttempts: options.webhook.maxAttempts ?? 16,
          timeoutMs: options.webhook.timeoutMs ?? 10_000,
        }
      : undefined,
    settlementDelayMs: options.settlementDelayMs ?? 5_000,
    random: options.random ?? Math.random,
    idempotencyKeyTtlMs: options.idempotencyKeyTtlMs ?? DAY_MS,
    pollIntervalMs: options.pollIntervalMs ?? 100,
    apiVersion: options.apiVersion ?? Stripe.API_VERSION,
  };
}
