import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { StripeLocalDeps } from './api-handler.js';
import { countObjects } from './stripe-local-store.js';
import { countPendingWebhooks } from './work-store.js';
import { FAULT_MODES } from './stripe-local-runtime.js';

export const CONTROL_PREFIX = '/_control';

const ControlBody = Type.Object(
  {
    latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    drop_webhooks: Type.Optional(Type.Boolean()),
    search_lag_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    fail_next: Type.Optional(
      Type.Union([
        Type.Null(),
        Type.Object(
          {
            count: Type.Integer({ minimum: 1 }),
            mode: Type.Union(FAULT_MODES.map((m) => Type.Literal(m))),
            path_prefix: Type.Optional(Type.String({ minLength: 1 })),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    clear_requests: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

async function describeControl(deps: StripeLocalDeps): Promise<Record<string, unknown>> {
  const knobs = deps.runtime.knobs;
  return {
    latency_ms: knobs.latencyMs,
    drop_webhooks: knobs.dropWebhooks,
    search_lag_ms: knobs.searchLagMs,
    fail_next: knobs.failNext
      ? { count: knobs.failNext.count, mode: knobs.failNext.mode, ...(knobs.failNext.pathPrefix ? { path_prefix: knobs.failNext.pathPrefix } : {}) }
      : null,
    held_requests: deps.runtime.heldRequests(),
    pending_webhooks: await countPendingWebhooks(deps.pool),
    counts: await countObjects(deps.pool),
  };
}

/**
 * Test switches, outside `/v1` so no Stripe client can reach them by accident. No authentication: the server is
 * meant for loopback only.
 */
export function registerControlRoutes(app: FastifyInstance, deps: StripeLocalDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  typed.get(CONTROL_PREFIX, async () => describeControl(deps));

  typed.post(CONTROL_PREFIX, { schema: { body: ControlBody } }, async (request) => {
    const body = request.body;
    const knobs = deps.runtime.knobs;
    if (body.latency_ms !== undefined) knobs.latencyMs = body.latency_ms;
    if (body.drop_webhooks !== undefined) knobs.dropWebhooks = body.drop_webhooks;
    if (body.search_lag_ms !== undefined) knobs.searchLagMs = body.search_lag_ms;
    if (body.fail_next !== undefined) {
      knobs.failNext = body.fail_next
        ? { count: body.fail_next.count, mode: body.fail_next.mode, ...(body.fail_next.path_prefix ? { pathPrefix: body.fail_next.path_prefix } : {}) }
        : null;
    }
    if (body.clear_requests) deps.runtime.requestLog.length = 0;
    request.log.info({ knobs }, 'stripe-local switches changed');
    return describeControl(deps);
  });

  typed.get(`${CONTROL_PREFIX}/requests`, async () => ({ object: 'list', data: deps.runtime.requestLog, has_more: false }));
}
