import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { registerSandboxBankRoutes } from './sandbox-bank.routes.js';
import { registerSandboxCardRoutes } from './sandbox-card.routes.js';
import { errorAnswer, isoTime, sendAnswer } from './sandbox-http.js';
import { createSandboxNotifier } from './sandbox-notifier.js';
import { resolveSandboxOptions, type SandboxOptions } from './sandbox-options.js';
import { createSandboxRuntime, type SandboxRuntime } from './sandbox-runtime.js';
import { ControlBody, KeyParams } from './sandbox.schema.js';
import { createSandboxStore, type SandboxStore } from './sandbox-store.js';

const CONTROL_PREFIX = '/_control';

function describeControl(runtime: SandboxRuntime, store: SandboxStore): Record<string, unknown> {
  return {
    latency_ms: runtime.knobs.latencyMs,
    error_rate: runtime.knobs.errorRate,
    stop_answering: runtime.knobs.stopAnswering,
    drop_notifications: runtime.knobs.dropNotifications,
    held_requests: runtime.heldRequests(),
    counts: {
      operations: store.operations.size,
      authorizations: store.authorizations.size,
      refunds: store.refunds.size,
      bank_debits: store.bankDebits.size,
      bank_credits: store.bankCredits.size,
    },
  };
}

/**
 * Builds the sandbox acquirer + bank rail (not listening: the caller calls `listen`). Everything lives in memory
 * and disappears with the instance. Dev and staging only.
 */
export async function buildSandboxProcessor(options: SandboxOptions): Promise<FastifyInstance> {
  const resolved = resolveSandboxOptions(options);
  const store = createSandboxStore();
  const runtime = createSandboxRuntime({ latencyMs: resolved.latencyMs, errorRate: resolved.errorRate });
  const notifier = resolved.notification
    ? createSandboxNotifier({
        url: resolved.notification.url,
        secret: resolved.notification.secret,
        maxAttempts: resolved.notificationMaxAttempts,
        retryBaseDelayMs: resolved.notificationRetryBaseDelayMs,
        timeoutMs: resolved.notificationTimeoutMs,
        logger: resolved.logger,
        shouldDrop: () => runtime.knobs.dropNotifications,
      })
    : undefined;

  // Typed as the base logger so the instance is a plain FastifyInstance for callers.
  const loggerInstance: FastifyBaseLogger = resolved.logger;
  const app = Fastify({
    loggerInstance,
    // Bodies carry card and account numbers: Fastify's request log has method/url/status only, never bodies.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  runtime.trackSockets(app.server);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) return sendAnswer(reply, errorAnswer(400, 'invalid_request', error.message));
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendAnswer(reply, errorAnswer(status, 'invalid_request', error.message));
    request.log.error({ err: { message: error.message, code: error.code } }, 'sandbox handler failed');
    return sendAnswer(reply, errorAnswer(500, 'internal_error', 'The sandbox failed to process the request.'));
  });
  app.setNotFoundHandler((_request, reply) => sendAnswer(reply, errorAnswer(404, 'not_found', 'No such route.')));

  // Fault injection runs before any processing, so a 503 here or a hang here means nothing was done yet. It runs
  // after the body is read (preHandler): a parked request whose caller gave up still executes once released, as a
  // real acquirer that received the request would.
  app.addHook('preHandler', async (request, reply) => {
    if (request.url === CONTROL_PREFIX || request.url.startsWith(`${CONTROL_PREFIX}?`)) return;
    if (!(await runtime.waitUntilAnswering())) {
      return sendAnswer(reply, errorAnswer(503, 'shutting_down', 'The sandbox is shutting down.'));
    }
    if (runtime.knobs.errorRate > 0 && resolved.random() < runtime.knobs.errorRate) {
      return sendAnswer(reply, errorAnswer(503, 'service_unavailable', 'The acquirer is temporarily unavailable.'));
    }
    if (runtime.knobs.latencyMs > 0 && !(await runtime.hold(runtime.knobs.latencyMs))) {
      return sendAnswer(reply, errorAnswer(503, 'shutting_down', 'The sandbox is shutting down.'));
    }
    return undefined;
  });

  app.addHook('preClose', async () => {
    runtime.shutdown();
  });
  app.addHook('onClose', async () => {
    await notifier?.close();
  });

  registerSandboxCardRoutes(app, { store, runtime, options: resolved });
  registerSandboxBankRoutes(app, { store, runtime, options: resolved, notifier });

  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get('/v1/operations/:key', { schema: { params: KeyParams } }, async (request, reply) => {
    const record = store.operations.get(request.params.key);
    if (!record) return sendAnswer(reply, errorAnswer(404, 'not_found', 'Nothing was recorded for this key.'));
    return reply.send({
      object: 'operation',
      idempotency_key: record.idempotencyKey,
      operation: record.operation,
      status_code: record.statusCode,
      created_at: isoTime(record.createdAtMs),
      result: record.body,
    });
  });

  typed.get(CONTROL_PREFIX, async (_request, reply) => reply.send(describeControl(runtime, store)));

  typed.post(CONTROL_PREFIX, { schema: { body: ControlBody } }, async (request, reply) => {
    const body = request.body;
    if (body.latency_ms !== undefined) runtime.knobs.latencyMs = body.latency_ms;
    if (body.error_rate !== undefined) runtime.knobs.errorRate = body.error_rate;
    if (body.drop_notifications !== undefined) runtime.knobs.dropNotifications = body.drop_notifications;
    if (body.stop_answering !== undefined) runtime.setStopAnswering(body.stop_answering);
    request.log.info({ knobs: runtime.knobs }, 'sandbox knobs changed');
    return reply.send(describeControl(runtime, store));
  });

  return app;
}
