import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type pg from 'pg';
import { canonicalJson } from '../platform/canonical-json.js';
import type { EventCause } from './stripe-events.js';
import { apiError, errorWireBody, invalidRequest, StripeLocalError } from './stripe-errors.js';
import { withTransaction } from './stripe-local-store.js';
import { claimIdempotencyKey, saveIdempotentResponse } from './work-store.js';

/** What an endpoint answers: a status and a JSON body (an object, or `{ error }`). */
export interface ApiResult {
  status: number;
  body: unknown;
}

export interface ApiOutcome {
  result: ApiResult;
  replayed: boolean;
  /** On a replay, the id of the request whose answer this is (Stripe's `Original-Request` header). */
  originalRequestId?: string;
}

export interface IdempotencyDeps {
  pool: pg.Pool;
  logger: Logger;
  fingerprintKey: string;
  bootId: string;
  keyTtlMs: number;
}

export interface ApiCall {
  method: string;
  /** The route's path with its ids (`/v1/payment_intents/pi_…/capture`), without the query. */
  path: string;
  requestId: string;
  idempotencyKey: string | null;
  params: Record<string, unknown>;
}

const MAX_KEY_LENGTH = 255;

function fingerprint(key: string, params: Record<string, unknown>): string {
  // Keyed: the params hold card numbers, and a plain hash of a card number can be reversed by enumeration.
  return createHmac('sha256', key).update(canonicalJson(params)).digest('hex');
}

function idempotencyError(message: string): StripeLocalError {
  return new StripeLocalError(400, { type: 'idempotency_error', message });
}

/**
 * Runs an endpoint the way Stripe's idempotency layer does. The endpoint's writes and its saved answer commit in
 * one transaction, so a crash leaves either both or neither. The claim commits before, so a concurrent request
 * with the same key sees it and gets 409. What is saved is whatever the endpoint answered once it began,
 * declines, state errors and 500s included; validation failures happen before this is called and are not saved.
 */
export async function executeIdempotently(
  deps: IdempotencyDeps,
  call: ApiCall,
  execute: (tx: pg.PoolClient, cause: EventCause) => Promise<ApiResult>,
): Promise<ApiOutcome> {
  const key = call.idempotencyKey;
  const cause: EventCause = { requestId: call.requestId, idempotencyKey: key };
  if (key === null) return { result: await runInTransaction(deps, call, execute, cause), replayed: false };
  if (key.length > MAX_KEY_LENGTH) {
    throw invalidRequest(`Idempotency-Key must be at most ${MAX_KEY_LENGTH} characters long.`);
  }

  const claim = await claimIdempotencyKey(deps.pool, {
    key,
    method: call.method,
    path: call.path,
    fingerprint: fingerprint(deps.fingerprintKey, call.params),
    bootId: deps.bootId,
    requestId: call.requestId,
    ttlMs: deps.keyTtlMs,
  });
  if (!claim.claimed) {
    const existing = claim.existing;
    if (existing.method !== call.method || existing.path !== call.path) {
      throw idempotencyError(
        `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${existing.method} ${existing.path}' vs '${call.method} ${call.path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (existing.fingerprint !== fingerprint(deps.fingerprintKey, call.params)) {
      throw idempotencyError(
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (existing.state === 'executing') {
      throw invalidRequest(
        `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        { code: 'idempotency_key_in_use', status: 409 },
      );
    }
    return {
      result: { status: existing.status_code ?? 500, body: existing.body },
      replayed: true,
      originalRequestId: existing.request_id,
    };
  }

  try {
    const result = await withTransaction(deps.pool, async (tx) => {
      const r = await execute(tx, cause);
      await saveIdempotentResponse(tx, key, r.status, r.body);
      return r;
    });
    return { result, replayed: false };
  } catch (err) {
    // The endpoint began, so its failure is its answer: saved, and replayed to every retry with this key.
    const result = failureResult(deps, call, err);
    await saveIdempotentResponse(deps.pool, key, result.status, result.body);
    return { result, replayed: false };
  }
}

async function runInTransaction(
  deps: IdempotencyDeps,
  call: ApiCall,
  execute: (tx: pg.PoolClient, cause: EventCause) => Promise<ApiResult>,
  cause: EventCause,
): Promise<ApiResult> {
  try {
    return await withTransaction(deps.pool, (tx) => execute(tx, cause));
  } catch (err) {
    return failureResult(deps, call, err);
  }
}

function failureResult(deps: IdempotencyDeps, call: ApiCall, err: unknown): ApiResult {
  if (err instanceof StripeLocalError) return { status: err.statusCode, body: errorWireBody(err, call.requestId) };
  deps.logger.error({ err, requestId: call.requestId, path: call.path }, 'stripe-local endpoint failed');
  const internal = apiError();
  return { status: internal.statusCode, body: errorWireBody(internal, call.requestId) };
}
