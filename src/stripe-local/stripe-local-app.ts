import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { runWorkerJobs, type WorkerJob } from '../platform/worker-loop.js';
import { pathOf, paramsOf, type StripeLocalDeps } from './api-handler.js';
import { authenticate } from './auth.js';
import { CONTROL_PREFIX, registerControlRoutes } from './control.routes.js';
import { maskSensitiveParams, parseFormEncoded } from './form-params.js';
import { registerPaymentIntentRoutes } from './payment-intents.routes.js';
import { registerPaymentMethodRoutes } from './payment-methods.routes.js';
import { registerRefundAndEventRoutes } from './refunds-events.routes.js';
import { runDueTasks } from './settlement.js';
import { apiError, errorWireBody, invalidRequest, rateLimited, StripeLocalError } from './stripe-errors.js';
import { newStripeId } from './stripe-ids.js';
import { resolveStripeLocalOptions, type StripeLocalOptions } from './stripe-local-options.js';
import { createStripeLocalRuntime } from './stripe-local-runtime.js';
import { createStripeLocalPool, ensureStripeLocalSchema } from './stripe-local-store.js';
import { pruneExpiredIdempotencyKeys, releaseOrphanedClaims } from './work-store.js';
import { createWebhookSender } from './webhook-sender.js';

const API_VERSION_PATTERN = /^\d{4}-\d{2}-\d{2}(\.[a-z_]+)?$/;

function sendError(reply: FastifyReply, request: FastifyRequest, error: StripeLocalError): FastifyReply {
  return reply.code(error.statusCode).send(errorWireBody(error, request.id));
}

function isApiPath(url: string): boolean {
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?');
}

/**
 * Builds the local Stripe-compatible server (not listening: the caller calls `listen`). State is in PostgreSQL,
 * so a restart, or a kill -9, continues where it stopped. `app.close()` stops its loops and closes its pool.
 */
export async function buildStripeLocalServer(options: StripeLocalOptions): Promise<FastifyInstance> {
  const resolved = resolveStripeLocalOptions(options);
  const logger = resolved.logger;
  const pool = createStripeLocalPool(resolved.databaseUrl);
  let fingerprintKey: string;
  const bootId = randomUUID();
  try {
    fingerprintKey = await ensureStripeLocalSchema(pool);
    const released = await releaseOrphanedClaims(pool, bootId);
    if (released > 0) logger.info({ released }, 'idempotency claims of a previous process released');
  } catch (err) {
    await pool.end();
    throw err;
  }

  const runtime = createStripeLocalRuntime();
  const sink = { apiVersion: resolved.apiVersion, deliverWebhooks: resolved.webhook !== undefined };
  const deps: StripeLocalDeps = {
    pool,
    logger,
    runtime,
    sink,
    settlementDelayMs: resolved.settlementDelayMs,
    fingerprintKey,
    idempotency: { pool, logger, fingerprintKey, bootId, keyTtlMs: resolved.idempotencyKeyTtlMs },
  };

  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    genReqId: () => newStripeId('request'),
    // Stripe's bracket notation (`metadata[k]=v`) in query strings too.
    routerOptions: { querystringParser: (text: string) => parseFormEncoded(text) },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  runtime.trackSockets(app.server);

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, parseFormEncoded(body as string));
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('request-id', request.id);
    if (!isApiPath(request.url)) return;
    const version = request.headers['stripe-version'];
    reply.header('stripe-version', typeof version === 'string' && version !== '' ? version : resolved.apiVersion);
  });

  // Runs once the body is parsed: the request is logged (masked), authenticated, delayed and given its fault
  // before any endpoint work, so `server_error`, `rate_limit` and `lost_before` mean nothing was executed.
  app.addHook('preHandler', async (request, reply) => {
    if (!isApiPath(request.url)) return undefined;
    const header = (name: string) => (typeof request.headers[name] === 'string' ? (request.headers[name] as string) : null);
    runtime.logRequest({
      at: new Date().toISOString(),
      request_id: request.id,
      method: request.method,
      path: pathOf(request),
      headers: { 'idempotency-key': header('idempotency-key'), 'stripe-version': header('stripe-version'), 'content-type': header('content-type') },
      params: maskSensitiveParams(paramsOf(request)),
    });
    const denied = authenticate(request, resolved.apiKey);
    if (denied) return sendError(reply, request, denied);
    const version = header('stripe-version');
    if (version !== null && !API_VERSION_PATTERN.test(version)) {
      return sendError(reply, request, invalidRequest(`Invalid Stripe API version: ${version}`, { param: 'Stripe-Version' }));
    }
    if (runtime.knobs.latencyMs > 0 && !(await runtime.sleep(runtime.knobs.latencyMs))) {
      return sendError(reply, request, apiError());
    }
    const fault = runtime.drawFault(pathOf(request));
    if (fault === 'server_error') return sendError(reply, request, apiError());
    if (fault === 'rate_limit') return sendError(reply, request, rateLimited());
    if (fault === 'lost_before') {
      reply.hijack();
      await runtime.holdUntilClientGone(request);
      return reply;
    }
    if (fault) runtime.setFault(request, fault);
    return undefined;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof StripeLocalError) return sendError(reply, request, error);
    if (error.validation) return sendError(reply, request, invalidRequest(error.message));
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, request, invalidRequest(error.message, { status }));
    request.log.error({ err: error }, 'stripe-local handler failed');
    return sendError(reply, request, apiError());
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      request,
      invalidRequest(`Unrecognized request URL (${request.method}: ${pathOf(request)}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, {
        status: 404,
      }),
    ),
  );

  registerPaymentMethodRoutes(app, deps);
  registerPaymentIntentRoutes(app, deps);
  registerRefundAndEventRoutes(app, deps);
  registerControlRoutes(app, deps);

  const sender = resolved.webhook
    ? createWebhookSender({ pool, target: resolved.webhook, logger, shouldDrop: () => runtime.knobs.dropWebhooks, random: resolved.random })
    : undefined;
  const jobs: WorkerJob[] = [
    {
      name: 'stripe-local-settlements',
      idleDelayMs: resolved.pollIntervalMs,
      runOnce: () => runDueTasks({ pool, sink, settlementDelayMs: resolved.settlementDelayMs, fingerprintKey, logger }),
    },
    { name: 'stripe-local-idempotency-pruning', idleDelayMs: 60_000, runOnce: () => pruneExpiredIdempotencyKeys(pool) },
  ];
  if (sender) jobs.push({ name: 'stripe-local-webhooks', idleDelayMs: resolved.pollIntervalMs, runOnce: () => sender.runOnce() });
  const loops = runWorkerJobs(jobs, logger);

  app.addHook('preClose', async () => {
    runtime.shutdown();
  });
  app.addHook('onClose', async () => {
    await loops.stop();
    await sender?.close();
    await pool.end();
  });

  logger.info({ control: CONTROL_PREFIX, webhook: resolved.webhook?.url ?? null }, 'stripe-local ready');
  return app;
}
