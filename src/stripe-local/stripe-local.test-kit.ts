/**
 * Test support for the local Stripe server's own tests (not a test file itself, and never used by production
 * code): a started server with an official SDK client pointed at it, and a webhook receiver on loopback that
 * verifies every delivery with the SDK's own `stripe.webhooks.constructEvent`. Its `/_control` switches are set
 * with test/helpers/sandbox-control.ts, as the sandbox processor's are.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import Stripe from 'stripe';
import { buildStripeLocalServer, type StripeLocalOptions } from './index.js';

export const TEST_SECRET_KEY = 'sk_test_nimbuspay_local_0001';
export const WEBHOOK_SECRET = 'whsec_local_test_secret_0001';

export function stripeClient(port: number, options: { apiKey?: string; timeoutMs?: number } = {}): Stripe {
  return new Stripe(options.apiKey ?? TEST_SECRET_KEY, {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: 0,
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
  });
}

/** The error a Stripe SDK call failed with; the test fails if the call succeeded. */
export async function failureOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  assert.fail('expected the request to fail');
}

export interface LocalStripe {
  app: FastifyInstance;
  port: number;
  baseUrl: string;
  stripe: Stripe;
  requests(): Promise<Array<Record<string, any>>>;
  close(): Promise<void>;
}

export async function startLocalStripe(options: Omit<StripeLocalOptions, 'logger'>, port = 0): Promise<LocalStripe> {
  const app = await buildStripeLocalServer({ logger: pino({ level: 'warn' }), pollIntervalMs: 25, ...options });
  await app.listen({ host: '127.0.0.1', port });
  const bound = (app.server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${bound}`;
  return {
    app,
    port: bound,
    baseUrl,
    stripe: stripeClient(bound),
    async requests() {
      const res = await fetch(`${baseUrl}/_control/requests`);
      return ((await res.json()) as { data: Array<Record<string, any>> }).data;
    },
    close: () => app.close(),
  };
}

export interface WebhookReceiver {
  url: string;
  /** Verified events, in arrival order (retries of one event appear once per delivery). */
  events: Stripe.Event[];
  badSignatures: number;
  /** Answer 500 to the next `n` deliveries. */
  failNext(n: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(stripe: Stripe, secret = WEBHOOK_SECRET): Promise<WebhookReceiver> {
  let failures = 0;
  const receiver: WebhookReceiver = {
    url: '',
    events: [],
    badSignatures: 0,
    failNext(n) {
      failures = n;
    },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures > 0) {
        failures -= 1;
        res.writeHead(500).end();
        return;
      }
      try {
        const event = stripe.webhooks.constructEvent(Buffer.concat(chunks), req.headers['stripe-signature'] as string, secret);
        receiver.events.push(event);
        res.writeHead(200).end();
      } catch {
        receiver.badSignatures += 1;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stripe/webhooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

const FUTURE_YEAR = new Date().getUTCFullYear() + 3;

export function cardData(number: string, extra: { exp_month?: number; exp_year?: number; cvc?: string } = {}): Stripe.PaymentIntentCreateParams.PaymentMethodData {
  return { type: 'card', card: { number, exp_month: extra.exp_month ?? 12, exp_year: extra.exp_year ?? FUTURE_YEAR, cvc: extra.cvc ?? '123' } } as Stripe.PaymentIntentCreateParams.PaymentMethodData;
}

export function bankData(accountNumber: string): Stripe.PaymentIntentCreateParams.PaymentMethodData {
  return {
    type: 'us_bank_account',
    us_bank_account: { account_number: accountNumber, routing_number: '110000000', account_holder_type: 'individual', account_type: 'checking' },
    billing_details: { name: 'Ada Lovelace' },
  } as Stripe.PaymentIntentCreateParams.PaymentMethodData;
}
