import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import scalar from '@scalar/fastify-api-reference';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import FindMyWay from 'find-my-way';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { newId } from '../ids.js';
import type { ErrorCode } from '../errors.js';

/** RFC 6749 §5.2 error codes (and RFC 8628's slow_down, used when a client is throttled). */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'slow_down';
import { errorHandler, sendError } from './error-handler.js';
import { createClientErrorHandler, createFrameworkErrorHandler, MAX_PATH_PARAM_LENGTH, checkRequestLine, registerClosingAnswer, registerConnectRefusal, registerExpectationPassThrough } from './framework-errors.js';
import { registerInputGuard } from './input-guard.js';
import { registerSecurityHeaders } from './security-headers.js';
import type { AuthContext } from './scopes.js';
import { swaggerOptions } from './openapi.js';

export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on routes that declare a scope; absent elsewhere. */
    auth: AuthContext | undefined;
    /**
     * The error code the request was answered with, for the request log: ours (set by sendError), or RFC 6749's on
     * the token endpoint, which answers in OAuth's own error format.
     */
    errorCode: ErrorCode | OAuthErrorCode | undefined;
  }
  interface FastifyContextConfig {
    /** A /v1 route without a scope must say it is public on purpose (e.g. signed processor notifications). */
    public?: boolean;
  }
}

const routeLists = new WeakMap<object, Array<{ method: string; url: string; hidden: boolean }>>();

interface HandlerTracker {
  running: number;
  waiters: Array<() => void>;
}
const handlerTrackers = new WeakMap<object, HandlerTracker>();

/**
 * Resolves when no API handler is running any more (or after `timeoutMs`). Closing the server is not enough at
 * shutdown: a handler whose client hung up keeps running — e.g. between the processor's answer and the
 * transaction that records it — and must finish before the database pool closes.
 */
export async function drainHandlers(app: object, timeoutMs: number): Promise<boolean> {
  const tracker = handlerTrackers.get(app);
  if (!tracker || tracker.running === 0) return true;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    tracker.waiters.push(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Every route registered on an app built by createHttpApp (tests check the OpenAPI document covers them). */
export function listRoutes(app: object): ReadonlyArray<{ method: string; url: string; hidden: boolean }> {
  return routeLists.get(app) ?? [];
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

function buildAjv(coerce: boolean): Ajv {
  // removeAdditional must stay off: unknown fields are rejected, never silently dropped. Bodies are not coerced,
  // so "100" is not an amount; query strings and path params are strings on the wire and are coerced.
  const ajv = new Ajv({
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerce ? 'array' : false,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

/** How long a client may take, in milliseconds. */
export interface HttpTimeouts {
  /** The whole request, headers and body: a client dribbling its body a byte at a time is cut off with a 408. */
  requestMs: number;
  /** The request line and headers. */
  headersMs: number;
  /**
   * An idle keep-alive connection between requests. Longer than the ALB's idle timeout (60 s), so the ALB always
   * closes first and never sends a request on a connection this server is closing (a 502 for the client).
   */
  keepAliveMs: number;
  /** No byte either way while a request is open: longer than a handler waits on the processor (PROCESSOR_TIMEOUT_MS, 10 s). */
  idleMs: number;
  /** How often Node checks the request and headers timeouts (its default, 30 s, would let them overrun by as much). */
  checkIntervalMs: number;
}

export const HTTP_TIMEOUTS: Readonly<HttpTimeouts> = Object.freeze({
  requestMs: 30_000,
  headersMs: 10_000,
  keepAliveMs: 65_000,
  idleMs: 70_000,
  checkIntervalMs: 1_000,
});

export interface HttpAppOptions {
  logger: Logger;
  metrics?: Metrics;
  bodyLimitBytes: number;
  publicUrl: string;
  title: string;
  description?: string;
  /** How many proxy hops to trust for the client address (a number, never `true`: the left end is spoofable). */
  trustProxy?: number;
  /** serve the OpenAPI document and /docs */
  openapi?: boolean;
  tokenUrl?: string;
  /** Strict-Transport-Security on every answer (everywhere but development). */
  hsts?: boolean;
  /** HTTP_TIMEOUTS unless overridden (tests use short ones). */
  timeouts?: Partial<HttpTimeouts>;
}

/**
 * A Fastify app with NimbusPay's HTTP conventions: request ids, one error shape, strict schema validation,
 * request logs with route/status/latency, latency metrics by route template, 404/405, OpenAPI 3.1.
 * Register routes on it, then call `ready()`.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const timeouts = { ...HTTP_TIMEOUTS, ...options.timeouts };
  const security = { hsts: options.hsts ?? false };
  const app = Fastify({
    loggerInstance: options.logger,
    // one 'request completed' line per request (onResponse below) instead of Fastify's two
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : newId('request');
    },
    bodyLimit: options.bodyLimitBytes,
    // the nth-hop rule of proxy-addr, as a function (Fastify's types do not take the number form)
    trustProxy: (_address: string, hop: number) => hop < (options.trustProxy ?? 0),
    return503OnClosing: false, // registerClosingAnswer answers those in the error model
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: MAX_PATH_PARAM_LENGTH },
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    http: {
      requestTimeout: timeouts.requestMs,
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
      requireHostHeader: false, // checked in checkRequestLine, to answer in the error model
    },
    frameworkErrors: createFrameworkErrorHandler(security),
    clientErrorHandler: createClientErrorHandler(options.logger, security),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const bodyAjv = buildAjv(false);
  const paramAjv = buildAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : paramAjv).compile(schema as object),
  );
  app.setErrorHandler(errorHandler);
  // JSON only (the token endpoint adds form bodies in its own scope); a text/plain body is a 415, not a string.
  app.removeContentTypeParser('text/plain');
  registerInputGuard(app);
  registerSecurityHeaders(app, security);
  registerConnectRefusal(app.server, options.logger, security);
  registerExpectationPassThrough(app.server);
  app.decorateRequest('auth', undefined);
  app.decorateRequest('errorCode', undefined);

  // A second router that knows every route regardless of method, to answer 405 (with Allow) instead of 404.
  const knownRoutes = FindMyWay();
  const routes: Array<{ method: string; url: string; hidden: boolean }> = [];
  routeLists.set(app, routes);
  const tracker: HandlerTracker = { running: 0, waiters: [] };
  handlerTrackers.set(app, tracker);
  app.addHook('onRoute', (route) => {
    // Our API handlers are async; count them so shutdown can wait for the ones whose client already left.
    if (route.url.startsWith('/v1/') || route.url.startsWith('/oauth/')) {
      const handler = route.handler;
      route.handler = async function trackedHandler(this: unknown, request, reply) {
        tracker.running++;
        try {
          return await (handler as (this: unknown, ...args: unknown[]) => unknown).call(this, request, reply);
        } finally {
          if (--tracker.running === 0) for (const wake of tracker.waiters.splice(0)) wake();
        }
      };
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m !== 'HEAD') routes.push({ method: m, url: route.url, hidden: (route.schema as { hide?: boolean } | undefined)?.hide === true });
      if ((METHODS as readonly string[]).includes(m)) {
        try {
          knownRoutes.on(m as (typeof METHODS)[number], route.url, () => {});
        } catch {
          // already known (HEAD/GET pairs); fine
        }
      }
    }
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((m) => knownRoutes.find(m, path) !== null);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      return sendError(reply, 'method_not_allowed', `Method ${request.method} is not allowed on ${path}.`);
    }
    return sendError(reply, 'route_not_found', `Unrecognized request URL (${request.method}: ${path}).`);
  });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onRequest', checkRequestLine);
  registerClosingAnswer(app);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const latencyMs = reply.elapsedTime;
    options.metrics?.httpRequestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      latencyMs / 1000,
    );
    // client_id and tenant_id are already bound to request.log by the auth hook
    request.log.info(
      {
        method: request.method,
        route,
        status_code: reply.statusCode,
        latency_ms: Math.round(latencyMs * 100) / 100,
      },
      'request completed',
    );
  });

  if (options.openapi) {
    await app.register(swagger, swaggerOptions({
      title: options.title,
      publicUrl: options.publicUrl,
      ...(options.description ? { description: options.description } : {}),
      ...(options.tokenUrl ? { tokenUrl: options.tokenUrl } : {}),
    }));
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await app.register(scalar, { routePrefix: '/docs', configuration: { url: '/openapi.json' } } as never);
  }
  return app as unknown as HttpApp;
}
