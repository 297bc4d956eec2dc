import type pg from 'pg';
import { errorWireBody, type StripeLocalError } from './stripe-errors.js';
import { recordEvent, type EventCause, type EventSink, type StripeEventType } from './stripe-events.js';
import { findObject, type StripeObject } from './stripe-local-store.js';
import type { ApiResult } from './idempotency.js';

/** What an endpoint or a due task runs with: its transaction, what caused it, and the server's settings. */
export interface ServiceContext {
  tx: pg.PoolClient;
  cause: EventCause;
  sink: EventSink;
  /** The request being answered (for `request_log_url` in error bodies); '' for due tasks. */
  requestId: string;
  settlementDelayMs: number;
  fingerprintKey: string;
  nowMs: number;
}

export function emit(ctx: ServiceContext, type: StripeEventType, object: StripeObject, previous?: Record<string, unknown>): Promise<StripeObject> {
  return recordEvent(ctx.tx, ctx.sink, ctx.cause, type, object, previous);
}

export function ok(body: unknown): ApiResult {
  return { status: 200, body };
}

export function fail(ctx: ServiceContext, error: StripeLocalError): ApiResult {
  return { status: error.statusCode, body: errorWireBody(error, ctx.requestId) };
}

export const EXPANDABLE_ON_PAYMENT_INTENT = ['payment_method', 'latest_charge'] as const;

/** The PaymentIntent as answered: `expand` swaps the ids of its payment method and latest charge for the objects. */
export async function renderPaymentIntent(q: pg.PoolClient | pg.Pool, pi: StripeObject, expand: readonly string[] = []): Promise<StripeObject> {
  const out: StripeObject = { ...pi };
  if (expand.includes('payment_method') && typeof pi.payment_method === 'string') {
    out.payment_method = (await findObject(q, 'payment_method', pi.payment_method)) ?? pi.payment_method;
  }
  if (expand.includes('latest_charge') && typeof pi.latest_charge === 'string') {
    out.latest_charge = (await findObject(q, 'charge', pi.latest_charge)) ?? pi.latest_charge;
  }
  return out;
}
