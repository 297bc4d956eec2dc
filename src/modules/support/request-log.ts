import type { FastifyRequest } from 'fastify';
import { pgErrorCode, withCrossTenantTx, type Db } from '../../platform/db.js';
import type { HttpApp } from '../../platform/http/app.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { insertRequests, type NewApiRequest } from './request-log.repository.js';

/**
 * The request log: one row per API request (ids, route template, status, latency, error code — never bodies,
 * headers or tokens). Rows are buffered in memory and written in batches by a timer, so recording costs a request
 * no database round trip; while the database is away the buffer is bounded and the overflow is dropped and counted.
 */
export interface RequestLogRecorder {
  record(entry: NewApiRequest): void;
  /** Writes what is buffered now (one batch at a time). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left; call after the server stopped taking requests. */
  close(): Promise<void>;
}

export interface RequestLogOptions {
  flushIntervalMs?: number;
  batchSize?: number;
  maxBuffered?: number;
}

const DEFAULTS = { flushIntervalMs: 200, batchSize: 500, maxBuffered: 20_000 };
// Integrity (23…) and data (22…) errors will fail the same rows again: those batches are dropped, not retried.
const UNRETRYABLE = /^2[23]/;

export function createRequestLogRecorder(deps: { db: Db; logger: Logger; metrics: Metrics }, options: RequestLogOptions = {}): RequestLogRecorder {
  const { flushIntervalMs, batchSize, maxBuffered } = { ...DEFAULTS, ...options };
  let buffer: NewApiRequest[] = [];
  let flushing: Promise<void> | undefined;
  let failing = false;
  let closed = false;

  async function writeOneBatch(): Promise<boolean> {
    const batch = buffer.slice(0, batchSize);
    buffer = buffer.slice(batch.length);
    try {
      await withCrossTenantTx(deps.db, (tx) => insertRequests(tx, batch));
      if (failing) deps.logger.info('request log: writing again');
      failing = false;
      return true;
    } catch (err) {
      if (UNRETRYABLE.test(pgErrorCode(err) ?? '')) {
        deps.metrics.requestLogDropped.inc(batch.length);
        deps.logger.error({ err, dropped: batch.length }, 'request log: batch refused by the database; dropped');
        return true;
      }
      // Put back in front (order is kept); what no longer fits is dropped.
      buffer = batch.concat(buffer);
      if (buffer.length > maxBuffered) {
        deps.metrics.requestLogDropped.inc(buffer.length - maxBuffered);
        buffer = buffer.slice(0, maxBuffered);
      }
      if (!failing) deps.logger.warn({ err, buffered: buffer.length }, 'request log: cannot write; buffering');
      failing = true;
      return false;
    }
  }

  async function drain(): Promise<void> {
    try {
      while (buffer.length > 0 && (await writeOneBatch()));
    } finally {
      flushing = undefined;
    }
  }

  function flush(): Promise<void> {
    if (flushing) return flushing;
    if (buffer.length === 0) return Promise.resolve();
    flushing = drain();
    return flushing;
  }

  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref();

  return {
    record(entry) {
      if (closed) return;
      if (buffer.length >= maxBuffered) {
        deps.metrics.requestLogDropped.inc();
        return;
      }
      buffer.push(entry);
      if (buffer.length >= batchSize && !flushing) void flush();
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await flushing;
      await flush();
      if (buffer.length > 0) {
        deps.metrics.requestLogDropped.inc(buffer.length);
        deps.logger.warn({ dropped: buffer.length }, 'request log: entries not written at shutdown');
        buffer = [];
      }
    },
  };
}

const LOGGED_PREFIXES = ['/v1/', '/oauth/'];
const CREATED_ID = /^\{"id":"([A-Za-z0-9_]{1,64})"/;
const createdIds = new WeakMap<FastifyRequest, string>();

const clamp = (value: string | null | undefined, max: number): string | null => (value ? value.slice(0, max) : null);

/** Adds the hooks that record every /v1 and /oauth request into `recorder`. */
export function registerRequestLog(app: HttpApp, recorder: RequestLogRecorder): void {
  // A create (201) answers with the new object's id first in its JSON: read it there rather than make every route
  // say it. It wins over the path's id (a refund created under /v1/payments/:id/refunds is the refund's request).
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method === 'POST' && reply.statusCode === 201 && typeof payload === 'string' && isLogged(request)) {
      // The pattern's one capture group is not optional, so a match always has it.
      const createdId = CREATED_ID.exec(payload)?.[1];
      if (createdId !== undefined) createdIds.set(request, createdId);
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (!isLogged(request)) return;
    const latencyMs = reply.elapsedTime;
    const actor = request.auth?.actor;
    recorder.record({
      request_id: request.id.slice(0, 128),
      tenant_id: request.auth?.tenantId ?? null,
      client_id: actor?.type === 'client' ? clamp(actor.id, 64) : null,
      staff_id: actor?.type === 'staff' ? actor.id : null,
      method: request.method.slice(0, 16),
      route: (request.routeOptions.url ?? 'unmatched').slice(0, 256),
      status_code: reply.statusCode,
      latency_ms: Math.max(0, Math.round(latencyMs * 100) / 100),
      error_code: request.errorCode ?? null,
      object_id: clamp(createdIds.get(request) ?? pathId(request), 64),
      created_at: new Date(Date.now() - latencyMs),
    });
  });
}

function isLogged(request: FastifyRequest): boolean {
  const path = request.routeOptions.url ?? request.url;
  return LOGGED_PREFIXES.some((p) => path.startsWith(p));
}

function pathId(request: FastifyRequest): string | undefined {
  const id = (request.params as Record<string, unknown> | undefined)?.id;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

