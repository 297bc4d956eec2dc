import type { FastifyRequest } from 'fastify';
import type { HttpApp } from '../../platform/http/app.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import { requireTenant } from '../../platform/http/auth-hook.js';
import { ListSchema, errorResponses } from '../../platform/http/pagination.js';
import {
  runIdempotent, type CreatedUnderKey, type IdempotencyContext, type IdempotencySettings, type KeyBinding,
} from '../../platform/http/idempotency.js';
import { idempotencyKey } from '../../platform/http/openapi.js';
import './payments-doc.schema.js';
import {
  CancelPaymentBody, CapturePaymentBody, CreatePaymentBody, CreateRefundBody, ListPaymentsQuery, ListRefundsQuery,
  PaymentIdParams, PaymentQuery, PaymentSchema, RefundIdParams, RefundSchema,
} from './payments.schema.js';
import * as payments from './payments.service.js';
import * as refunds from './refunds.service.js';
import { validateCreatePayment } from './payment-validation.js';
import type { ChangedPayment, CreationKey, PaymentsDeps } from './payment-operations.js';

const tags = ['Payments'];
const refundTags = ['Refunds'];
const required = idempotencyKey('required');

const tenantOf = (request: FastifyRequest): string => requireTenant(request.auth).tenantId;

/** The payment or refund created under a key, named for the client (runIdempotent's `describeBinding`). */
function describeKeyBinding(found: CreatedUnderKey): KeyBinding {
  if (found.object === 'payment') return { id: found.id, createdAt: found.created_at, retrievePath: `/v1/payments/${found.id}` };
  return { id: found.id, label: `${found.id} (a refund of ${found.payment_id})`, createdAt: found.created_at, retrievePath: `/v1/refunds/${found.id}` };
}
// Every route looks a key up in payments and refunds: a key that created either is bound to it for good.
const keys = { describeBinding: describeKeyBinding };

/** 201 for a created payment or refund, and for one a retry of the same request resumed: both answer the creation. */
const CREATED = 201;
/** 202 Accepted: the processor's answer was lost, the reconciler finishes the capture or cancel. */
const CHANGED_STATUS: Record<ChangedPayment['outcome'], 200 | 202> = { completed: 200, outcome_unknown: 202 };

/** runIdempotent's context as payment creation uses it: the answer stored under the key is the 201 with the payment. */
function creationKey(ctx: IdempotencyContext): CreationKey {
  return {
    key: ctx.key,
    claim: ctx.claim,
    claimRequest: ctx.claimRequest,
    acceptClaim: ctx.acceptClaim,
    createdAnswerStatus: CREATED,
    storeCreated: (tx, payment) => ctx.complete(tx, { status: CREATED, body: payment }),
    createdStored: (payment) => ctx.answerStored({ status: CREATED, body: payment }),
  };
}

export function registerPaymentRoutes(app: HttpApp, deps: PaymentsDeps, idempotency: IdempotencySettings): void {
  app.post('/v1/payments', {
    schema: { operationId: 'createPayment',
      ...routeSecurity('payments:write'), tags, summary: 'Create a payment (card or bank transfer)',
      description: 'A declined card is not an error: the payment is returned (201) with status `failed` and a `failure_code`. ' +
        'A payment whose processor outcome is unknown is returned `processing` and resolved by reconciliation (watch `payment.*` events).',
      ...required, body: CreatePaymentBody,
      response: { 201: PaymentSchema, ...errorResponses(400, 401, 403, 409, 422, 503) },
    },
  }, async (request, reply) => {
    const tenantId = tenantOf(request);
    const valid = validateCreatePayment(request.body, deps.now?.() ?? new Date());
    return runIdempotent(idempotency, tenantId, request, reply, async (ctx) => {
      const result = await payments.createPayment(deps, tenantId, valid, creationKey(ctx));
      return { status: CREATED, body: result.payment };
    }, { ...keys, claimInHandler: true });
  });

  app.get('/v1/payments', {
    schema: { operationId: 'listPayments', ...routeSecurity('payments:read'), tags, summary: 'List payments (newest first)', querystring: ListPaymentsQuery, response: { 200: ListSchema(PaymentSchema), ...errorResponses(400, 401, 403) } },
  }, async (request) => payments.listPayments(deps, tenantOf(request), request.query));

  app.get('/v1/payments/:id', {
    schema: { operationId: 'getPayment', ...routeSecurity('payments:read'), tags, summary: 'Retrieve a payment', params: PaymentIdParams, querystring: PaymentQuery, response: { 200: PaymentSchema, ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => payments.getPayment(deps, tenantOf(request), request.params.id, request.query.expand === 'attempts'));

  app.post('/v1/payments/:id/capture', {
    schema: { operationId: 'capturePayment',
      ...routeSecurity('payments:write'), tags, summary: 'Capture an authorized card payment (once; partial allowed)',
      description: '200 when captured; 202 when the processor outcome is unknown (the payment stays `requires_capture` until reconciled).',
      ...required, params: PaymentIdParams, body: CapturePaymentBody,
      response: { 200: PaymentSchema, 202: PaymentSchema, ...errorResponses(400, 401, 402, 403, 404, 409, 422, 503) },
    },
  }, async (request, reply) => {
    const tenantId = tenantOf(request);
    return runIdempotent(idempotency, tenantId, request, reply, async () => {
      const result = await payments.capturePayment(deps, tenantId, request.params.id, request.body?.amount);
      return { status: CHANGED_STATUS[result.outcome], body: result.payment };
    }, keys);
  });

  app.post('/v1/payments/:id/cancel', {
    schema: { operationId: 'cancelPayment',
      ...routeSecurity('payments:write'), tags, summary: 'Cancel: void an uncaptured card authorization, or a bank transfer not yet submitted',
      ...required, params: PaymentIdParams, body: CancelPaymentBody,
      response: { 200: PaymentSchema, 202: PaymentSchema, ...errorResponses(400, 401, 402, 403, 404, 409, 422, 503) },
    },
  }, async (request, reply) => {
    const tenantId = tenantOf(request);
    return runIdempotent(idempotency, tenantId, request, reply, async () => {
      const result = await payments.cancelPayment(deps, tenantId, request.params.id);
      return { status: CHANGED_STATUS[result.outcome], body: result.payment };
    }, keys);
  });

  app.post('/v1/payments/:id/refunds', {
    schema: { operationId: 'createRefund',
      ...routeSecurity('refunds:write'), tags: refundTags, summary: 'Refund a payment (partial or full; several allowed, never above the captured amount)',
      description: 'A refund declined by the processor is returned (201) with status `failed`.',
      ...required, params: PaymentIdParams, body: CreateRefundBody,
      response: { 201: RefundSchema, ...errorResponses(400, 401, 403, 404, 409, 422, 503) },
    },
  }, async (request, reply) => {
    const tenantId = tenantOf(request);
    return runIdempotent(idempotency, tenantId, request, reply, async ({ key }) => ({
      status: CREATED,
      body: await refunds.createRefund(deps, tenantId, request.params.id, request.body ?? {}, key),
    }), keys);
  });

  app.get('/v1/payments/:id/refunds', {
    schema: { operationId: 'listPaymentRefunds', ...routeSecurity('payments:read'), tags: refundTags, summary: "List a payment's refunds", params: PaymentIdParams, querystring: ListRefundsQuery, response: { 200: ListSchema(RefundSchema), ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => refunds.listPaymentRefunds(deps, tenantOf(request), request.params.id, request.query));

  app.get('/v1/refunds/:id', {
    schema: { operationId: 'getRefund', ...routeSecurity('payments:read'), tags: refundTags, summary: 'Retrieve a refund', params: RefundIdParams, response: { 200: RefundSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => refunds.getRefund(deps, tenantOf(request), request.params.id));
}
