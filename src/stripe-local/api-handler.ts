import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type pg from 'pg';
import { validateParams, type ParamShape, type Params } from './form-params.js';
import { executeIdempotently, type ApiOutcome, type ApiResult, type IdempotencyDeps } from './idempotency.js';
import type { EventSink } from './stripe-events.js';
import type { StripeLocalRuntime } from './stripe-local-runtime.js';
import type { ServiceContext } from './service-context.js';

/** What every route of the local Stripe server needs; built once in stripe-local-app.ts. */
export interface StripeLocalDeps {
  pool: pg.Pool;
  logger: Logger;
  runtime: StripeLocalRuntime;
  sink: EventSink;
  idempotency: IdempotencyDeps;
  settlementDelayMs: number;
  fingerprintKey: string;
}

export function pathOf(request: FastifyRequest): string {
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
}

export function idempotencyKeyOf(request: FastifyRequest): string | null {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' && key !== '' ? key : null;
}

export function paramsOf(request: FastifyRequest): Params {
  const source = request.method === 'GET' ? request.query : request.body;
  return source !== null && typeof source === 'object' ? (source as Params) : {};
}

/**
 * A POST endpoint: params are checked against `shape` and by `prepare` (failures are 400s saved nowhere), then
 * `execute` runs under Stripe's idempotency rules in one transaction.
 */
export async function handlePost<T>(
  deps: StripeLocalDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  endpoint: { shape: ParamShape; prepare: (params: Params) => T; execute: (ctx: ServiceContext, input: T) => Promise<ApiResult> },
): Promise<void> {
  const raw = paramsOf(request);
  const input = endpoint.prepare(validateParams(raw, endpoint.shape));
  const outcome = await executeIdempotently(
    deps.idempotency,
    { method: 'POST', path: pathOf(request), requestId: request.id, idempotencyKey: idempotencyKeyOf(request), params: raw },
    (tx, cause) =>
      endpoint.execute(
        { tx, cause, sink: deps.sink, requestId: request.id, settlementDelayMs: deps.settlementDelayMs, fingerprintKey: deps.fingerprintKey, nowMs: Date.now() },
        input,
      ),
  );
  await sendOutcome(deps, request, reply, outcome);
}

/** A GET endpoint: read-only, no idempotency. */
export async function handleGet(
  deps: StripeLocalDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  endpoint: { shape: ParamShape; read: (params: Params) => Promise<ApiResult> },
): Promise<void> {
  const result = await endpoint.read(validateParams(paramsOf(request), endpoint.shape));
  await sendOutcome(deps, request, reply, { result, replayed: false });
}

/**
 * Sends the answer, unless a `lost_answer` or `connection_reset` fault was drawn for this request: the work is
 * done and saved by now, and the client either waits until it gives up or sees its connection reset.
 */
export async function sendOutcome(deps: StripeLocalDeps, request: FastifyRequest, reply: FastifyReply, outcome: ApiOutcome): Promise<void> {
  const fault = deps.runtime.faultOf(request);
  if (fault === 'lost_answer') {
    reply.hijack();
    await deps.runtime.holdUntilClientGone(request);
    return;
  }
  if (fault === 'connection_reset') {
    reply.hijack();
    request.raw.socket.destroy();
    return;
  }
  const key = request.method === 'POST' ? idempotencyKeyOf(request) : null;
  if (key !== null) reply.header('idempotency-key', key);
  if (outcome.replayed) {
    reply.header('idempotent-replayed', 'true');
    if (outcome.originalRequestId) reply.header('original-request', outcome.originalRequestId);
  }
  await reply.code(outcome.result.status).send(outcome.result.body);
}
