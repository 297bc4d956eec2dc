import type { FastifyInstance } from 'fastify';
import type { ParamShape, ParamSpec } from './form-params.js';
import { handleGet, handlePost, type StripeLocalDeps } from './api-handler.js';
import { cardError, parameterMissing, resourceMissing } from './stripe-errors.js';
import { findObject, insertObject } from './stripe-local-store.js';
import { buildCardPaymentMethod } from './stripe-objects.js';
import { fail, ok } from './service-context.js';
import { checkRawCard, type RawCard } from './test-instruments.js';

// PaymentMethods from raw card numbers (POST /v1/payment_methods with `card[number]`, as Stripe allows an account
// that handles card data itself), and their retrieval. Only last4 and a keyed fingerprint are kept.

/** Raw card details, as accepted here and in a PaymentIntent's `payment_method_data[card]`. */
export const CARD_PARAMS: ParamSpec = {
  kind: 'object',
  fields: {
    number: { kind: 'string' },
    exp_month: { kind: 'integer' },
    exp_year: { kind: 'integer' },
    cvc: { kind: 'string' },
  },
};
export const BILLING_DETAILS_PARAMS: ParamSpec = { kind: 'object', fields: { name: { kind: 'string' } } };

const CREATE_SHAPE: ParamShape = {
  type: { kind: 'string', required: true, enum: ['card'] },
  card: CARD_PARAMS,
  billing_details: BILLING_DETAILS_PARAMS,
  metadata: { kind: 'metadata' },
  expand: { kind: 'string_list' },
};

interface CreateInput {
  card: RawCard;
  name: string | undefined;
  metadata: Record<string, string>;
}

function prepareCreate(params: Record<string, unknown>): CreateInput {
  const card = params.card as Record<string, unknown> | undefined;
  if (!card) throw parameterMissing('card');
  for (const field of ['number', 'exp_month', 'exp_year']) {
    if (card[field] === undefined) throw parameterMissing(`card[${field}]`);
  }
  return {
    card: card as unknown as RawCard,
    name: (params.billing_details as { name?: string } | undefined)?.name,
    metadata: (params.metadata as Record<string, string> | undefined) ?? {},
  };
}

export function registerPaymentMethodRoutes(app: FastifyInstance, deps: StripeLocalDeps): void {
  app.post('/v1/payment_methods', (request, reply) =>
    handlePost(deps, request, reply, {
      shape: CREATE_SHAPE,
      prepare: prepareCreate,
      execute: async (ctx, input) => {
        // Stripe checks the number, the expiry and the CVC's shape here, before any charge can exist.
        const problem = checkRawCard(input.card, ctx.nowMs);
        if (problem) return fail(ctx, cardError({ code: problem.code, message: problem.message, param: problem.param }));
        const pm = { ...buildCardPaymentMethod(input.card, input.name, ctx.fingerprintKey), metadata: input.metadata };
        await insertObject(ctx.tx, 'payment_method', pm);
        return ok(pm);
      },
    }),
  );

  app.get<{ Params: { id: string } }>('/v1/payment_methods/:id', (request, reply) =>
    handleGet(deps, request, reply, {
      shape: { expand: { kind: 'string_list' } },
      read: async () => {
        const pm = await findObject(deps.pool, 'payment_method', request.params.id);
        if (!pm) throw resourceMissing('payment_method', request.params.id, 'payment_method');
        return ok(pm);
      },
    }),
  );
}
