import type { FastifyInstance } from 'fastify';
import type { ParamShape, ParamSpec } from './form-params.js';
import { handleGet, handlePost, type StripeLocalDeps } from './api-handler.js';
import { BILLING_DETAILS_PARAMS, CARD_PARAMS } from './payment-methods.routes.js';
import { createPaymentIntent, prepareCreatePaymentIntent } from './payment-intent-create.js';
import { cancelPaymentIntent, capturePaymentIntent, disputePaymentIntent } from './payment-intent-actions.js';
import { EXPANDABLE_ON_PAYMENT_INTENT, ok, renderPaymentIntent } from './service-context.js';
import { invalidRequest, resourceMissing } from './stripe-errors.js';
import { findObject, searchObjects } from './stripe-local-store.js';
import { decodePage, encodePage, parseSearchQuery } from './search-query.js';

const EXPAND: ParamSpec = { kind: 'string_list' };

const CREATE_SHAPE: ParamShape = {
  amount: { kind: 'integer', required: true },
  currency: { kind: 'string', required: true },
  capture_method: { kind: 'string', enum: ['automatic', 'manual'] },
  confirm: { kind: 'boolean' },
  // API versions up to 2026-09 call it payment_method_types; the SDK's pinned version (2026-10-28.endive) calls it
  // allowed_payment_method_types. Both are accepted, one at a time.
  payment_method_types: { kind: 'string_list', enum: ['card', 'us_bank_account'] },
  allowed_payment_method_types: { kind: 'string_list', enum: ['card', 'us_bank_account'] },
  payment_method_data: {
    kind: 'object',
    fields: {
      type: { kind: 'string', enum: ['card', 'us_bank_account'] },
      card: CARD_PARAMS,
      us_bank_account: {
        kind: 'object',
        fields: {
          account_number: { kind: 'string' },
          routing_number: { kind: 'string' },
          account_holder_type: { kind: 'string', enum: ['individual', 'company'] },
          account_type: { kind: 'string', enum: ['checking', 'savings'] },
        },
      },
      billing_details: BILLING_DETAILS_PARAMS,
    },
  },
  payment_method: { kind: 'string' },
  // No local test card asks for 3-D Secure, so there is never an action to refuse; accepted as Stripe accepts it.
  error_on_requires_action: { kind: 'boolean' },
  mandate_data: {
    kind: 'object',
    fields: { customer_acceptance: { kind: 'object', fields: { type: { kind: 'string', enum: ['offline'] } } } },
  },
  metadata: { kind: 'metadata' },
  description: { kind: 'string', maxLength: 1000 },
  expand: EXPAND,
};

const CAPTURE_SHAPE: ParamShape = { amount_to_capture: { kind: 'integer', min: 0 }, expand: EXPAND };
const CANCEL_SHAPE: ParamShape = {
  cancellation_reason: { kind: 'string', enum: ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] },
  expand: EXPAND,
};
const RETRIEVE_SHAPE: ParamShape = { expand: EXPAND };
const SEARCH_SHAPE: ParamShape = {
  query: { kind: 'string', required: true },
  limit: { kind: 'integer', min: 1 },
  page: { kind: 'string' },
  expand: EXPAND,
};
const DISPUTE_SHAPE: ParamShape = {
  reason: { kind: 'string' },
  amount: { kind: 'integer', min: 1 },
  status: { kind: 'string', enum: ['warning_needs_response', 'needs_response', 'under_review', 'lost', 'won'] },
};

function expandOf(params: Record<string, unknown>): string[] {
  const expand = (params.expand as string[] | undefined) ?? [];
  for (const field of expand) {
    if (!(EXPANDABLE_ON_PAYMENT_INTENT as readonly string[]).includes(field)) {
      throw invalidRequest(`This property cannot be expanded (${field}).`, { param: 'expand' });
    }
  }
  return expand;
}

export function registerPaymentIntentRoutes(app: FastifyInstance, deps: StripeLocalDeps): void {
  app.post('/v1/payment_intents', (request, reply) =>
    handlePost(deps, request, reply, { shape: CREATE_SHAPE, prepare: prepareCreatePaymentIntent, execute: createPaymentIntent }),
  );

  app.get('/v1/payment_intents/search', (request, reply) =>
    handleGet(deps, request, reply, {
      shape: SEARCH_SHAPE,
      read: async (params) => {
        const clauses = parseSearchQuery(params.query as string);
        const limit = Math.min((params.limit as number | undefined) ?? 10, 100);
        const offset = decodePage(params.page as string | undefined);
        const found = await searchObjects(deps.pool, 'payment_intent', clauses, { lagMs: deps.runtime.knobs.searchLagMs, limit, offset });
        const hasMore = found.length > limit;
        // In a list, expansions name the items' fields as `data.<field>`.
        const expand = ((params.expand as string[] | undefined) ?? []).map((field) => {
          if (!field.startsWith('data.')) throw invalidRequest(`This property cannot be expanded (${field}).`, { param: 'expand' });
          return field.slice('data.'.length);
        });
        expandOf({ expand });
        return ok({
          object: 'search_result',
          data: await Promise.all(found.slice(0, limit).map((pi) => renderPaymentIntent(deps.pool, pi, expand))),
          has_more: hasMore,
          next_page: hasMore ? encodePage(offset + limit) : null,
          url: '/v1/payment_intents/search',
        });
      },
    }),
  );

  app.get<{ Params: { id: string } }>('/v1/payment_intents/:id', (request, reply) =>
    handleGet(deps, request, reply, {
      shape: RETRIEVE_SHAPE,
      read: async (params) => {
        const expand = expandOf(params);
        const pi = await findObject(deps.pool, 'payment_intent', request.params.id);
        if (!pi) throw resourceMissing('payment_intent', request.params.id, 'intent');
        return ok(await renderPaymentIntent(deps.pool, pi, expand));
      },
    }),
  );

  app.post<{ Params: { id: string } }>('/v1/payment_intents/:id/capture', (request, reply) =>
    handlePost(deps, request, reply, {
      shape: CAPTURE_SHAPE,
      prepare: (params) => ({ expand: expandOf(params), amountToCapture: params.amount_to_capture as number | undefined }),
      execute: (ctx, input) => capturePaymentIntent(ctx, request.params.id, input),
    }),
  );

  app.post<{ Params: { id: string } }>('/v1/payment_intents/:id/cancel', (request, reply) =>
    handlePost(deps, request, reply, {
      shape: CANCEL_SHAPE,
      prepare: (params) => ({ expand: expandOf(params), cancellationReason: params.cancellation_reason as string | undefined }),
      execute: (ctx, input) => cancelPaymentIntent(ctx, request.params.id, input),
    }),
  );

  // Local-only test helper (no such endpoint at Stripe): a late return of a settled debit, or a chargeback.
  app.post<{ Params: { id: string } }>('/v1/test_helpers/local/payment_intents/:id/dispute', (request, reply) =>
    handlePost(deps, request, reply, {
      shape: DISPUTE_SHAPE,
      prepare: (params) => params as { reason?: string; amount?: number; status?: string },
      execute: (ctx, input) => disputePaymentIntent(ctx, request.params.id, input),
    }),
  );
}
