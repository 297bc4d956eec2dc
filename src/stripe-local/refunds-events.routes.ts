import type { FastifyInstance } from 'fastify';
import type { ParamShape, Params } from './form-params.js';
import { handleGet, handlePost, type StripeLocalDeps } from './api-handler.js';
import { createRefund } from './refunds-service.js';
import { ok } from './service-context.js';
import { parameterMissing, resourceMissing } from './stripe-errors.js';
import { findObject, listObjects, type ListFilter } from './stripe-local-store.js';

const CREATE_REFUND_SHAPE: ParamShape = {
  payment_intent: { kind: 'string' },
  amount: { kind: 'integer', min: 1 },
  metadata: { kind: 'metadata' },
  reason: { kind: 'string', enum: ['duplicate', 'fraudulent', 'requested_by_customer'] },
};

const PAGE_SHAPE: ParamShape = {
  limit: { kind: 'integer', min: 1 },
  starting_after: { kind: 'string' },
  ending_before: { kind: 'string' },
};

const LIST_REFUNDS_SHAPE: ParamShape = { ...PAGE_SHAPE, payment_intent: { kind: 'string' } };
const LIST_EVENTS_SHAPE: ParamShape = { ...PAGE_SHAPE, type: { kind: 'string' }, types: { kind: 'string_list' } };

async function listPage(deps: StripeLocalDeps, type: string, url: string, params: Params, filter?: ListFilter): Promise<unknown> {
  const limit = Math.min((params.limit as number | undefined) ?? 10, 100);
  const rows = await listObjects(deps.pool, type, {
    limit,
    ...(filter ? { filter } : {}),
    ...(params.starting_after !== undefined ? { startingAfter: params.starting_after as string } : {}),
    ...(params.ending_before !== undefined ? { endingBefore: params.ending_before as string } : {}),
  });
  return { object: 'list', data: rows.slice(0, limit), has_more: rows.length > limit, url };
}

export function registerRefundAndEventRoutes(app: FastifyInstance, deps: StripeLocalDeps): void {
  app.post('/v1/refunds', (request, reply) =>
    handlePost(deps, request, reply, {
      shape: CREATE_REFUND_SHAPE,
      prepare: (params) => {
        if (params.payment_intent === undefined) throw parameterMissing('payment_intent');
        return {
          paymentIntent: params.payment_intent as string,
          metadata: (params.metadata as Record<string, string> | undefined) ?? {},
          ...(params.amount !== undefined ? { amount: params.amount as number } : {}),
          ...(params.reason !== undefined ? { reason: params.reason as string } : {}),
        };
      },
      execute: createRefund,
    }),
  );

  app.get('/v1/refunds', (request, reply) =>
    handleGet(deps, request, reply, {
      shape: LIST_REFUNDS_SHAPE,
      read: async (params) =>
        ok(
          await listPage(deps, 'refund', '/v1/refunds', params, params.payment_intent !== undefined ? { field: 'payment_intent', value: params.payment_intent as string } : undefined),
        ),
    }),
  );

  app.get<{ Params: { id: string } }>('/v1/refunds/:id', (request, reply) =>
    handleGet(deps, request, reply, {
      shape: {},
      read: async () => {
        const refund = await findObject(deps.pool, 'refund', request.params.id);
        if (!refund) throw resourceMissing('refund', request.params.id, 'id');
        return ok(refund);
      },
    }),
  );

  app.get('/v1/events', (request, reply) =>
    handleGet(deps, request, reply, {
      shape: LIST_EVENTS_SHAPE,
      read: async (params) => {
        const types = params.type !== undefined ? [params.type as string] : (params.types as string[] | undefined);
        return ok(await listPage(deps, 'event', '/v1/events', params, types ? { field: 'type', values: types } : undefined));
      },
    }),
  );

  app.get<{ Params: { id: string } }>('/v1/events/:id', (request, reply) =>
    handleGet(deps, request, reply, {
      shape: {},
      read: async () => {
        const event = await findObject(deps.pool, 'event', request.params.id);
        if (!event) throw resourceMissing('event', request.params.id, 'id');
        return ok(event);
      },
    }),
  );
}
