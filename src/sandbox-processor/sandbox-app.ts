import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { registerSandboxBankRoutes } from './sandbox-bank.routes.js';
import { registerSandboxCardRoutes } from './sandbox-card.routes.js';
import { createSandboxDb, type SandboxDb } from './store/sandbox-db.js';
import { ensureSandboxSchema } from './store/sandbox-ddl.js';
import { errorAnswer, sendAnswer } from './sandbox-http.js';
import { startSandboxNotifier } from './sandbox-notifier.js';
import { countRecords, findOperation } from './store/sandbox-operations.repository.js';
import { resolveSandboxOptions, type SandboxOptions } from './sandbox-options.js';
import { createSandboxRuntime, type SandboxRuntime } from './sandbox-runtime.js';
import { ControlBody, KeyParams } from './sandbox.schema.js';
import { toOperationWire } from './sandbox-wire.js';

const CONTROL_PREFIX = '/_control';

async function describeControl(runtime: SandboxRuntime, db: SandboxDb): Promise<Record<string, unknown>> {
  return {
    latency_ms: runtime.knobs.latencyMs,
    error_rate: runtime.knobs.errorRate,
    stop_answering: runtime.knobs.stopAnswering,
    drop_notifications: runtime.knobs.dropNotifications,
    held_requests: runtime.heldRequests(),
    counts: await countRecords(db),
  };
}

/**
 * Builds the sandbox acquirer + bank rail (not listening: the caller calls `listen`). Its records and its pending rail
 * notifications live in PostgreSQL (schema `sandbox_processor`, created here), so a restart or a `kill -9` loses
 * nothing it answered; several instances may share one database. The fault-injection knobs (`/_control`) are test
 * switches, not state: they live in memory and start from the options. Dev and staging only.
 */
export async function buildSandboxProcessor(options: SandboxOptions): Promise<FastifyInstance> {
  const resolved = resolveSandboxOptions(options);
  const database = createSandboxDb({ connectionString: resolved.databaseUrl, max: resolved.databasePoolMax });
  try {
    await ensureSandboxSchema(database.db);
    await database.warm();
  } catch (err) {
    await database.close();
    throw err;
  }
  const db = database.db;
  const runtime = createSandboxRuntime({ latencyMs: resolved.latencyMs, errorRate: resolved.errorRate });
  const notifier = resolved.notification
    ? startSandboxNotifier({
        db,
        pollIntervalMs: resolved.notificationPollIntervalMs,
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
    // One line per request (below) instead of Fastify's two: the sandbox answers every payment of a load test, and
    // at info its request lines were the largest share of its CPU after the database driver.
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies carry card and account numbers: the request log has method/url/status only, never bodies.
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

  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ method: request.method, url: request.url, status_code: reply.statusCode, latency_ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request completed');
    done();
  });

  app.addHook('preClose', async () => {
    runtime.shutdown();
  });
  app.addHook('onClose', async () => {
    await notifier?.close();
    await database.close();
  });

  registerSandboxCardRoutes(app, { db, runtime, options: resolved });
  registerSandboxBankRoutes(app, { db, runtime, options: resolved, notifier });

  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get('/v1/operations/:key', { schema: { params: KeyParams } }, async (request, reply) => {
    const record = await findOperation(db, request.params.key);
    if (!record) return sendAnswer(reply, errorAnswer(404, 'not_found', 'Nothing was recorded for this key.'));
    return reply.send(toOperationWire(record));
  });

  typed.get(CONTROL_PREFIX, async (_request, reply) => reply.send(await describeControl(runtime, db)));

  typed.post(CONTROL_PREFIX, { schema: { body: ControlBody } }, async (request, reply) => {
    const body = request.body;
    if (body.latency_ms !== undefined) runtime.knobs.latencyMs = body.latency_ms;
    if (body.error_rate !== undefined) runtime.knobs.errorRate = body.error_rate;
    if (body.drop_notifications !== undefined) runtime.knobs.dropNotifications = body.drop_notifications;
    if (body.stop_answering !== undefined) runtime.setStopAnswering(body.stop_answering);
    request.log.info({ knobs: runtime.knobs }, 'sandbox knobs changed');
    return reply.send(await describeControl(runtime, db));
  });

  return app;
}
