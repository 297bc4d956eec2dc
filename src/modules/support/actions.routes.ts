import type { FastifyRequest } from 'fastify';
import type { Db } from '../../platform/db.js';
import type { HttpApp } from '../../platform/http/app.js';
import { errorResponses } from '../../platform/http/pagination.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import {
  IdParams, NoteBody, NoteSchema, ReasonBody, ReconcileResultSchema, ReplayBody, ReplayResultSchema, SupportDeliveryDetailSchema, SupportEndpointSchema,
} from './support.schema.js';
import * as actions from './actions.service.js';
import { callerOf } from './support.routes.js';

const write = routeSecurity('support:write', { staffSession: true });
const tags = ['Support actions'];
const AUDITED = 'Requires a written `reason`; the audit entry (actor, reason, before/after) commits in the same transaction as the action.';

// A POST without a body is answered like one without `reason` (400, param reason), not with "body must be object".
async function emptyBodyIsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}

export function registerSupportActionRoutes(app: HttpApp, deps: { db: Db }): void {
  const { db } = deps;
  const common = { preValidation: emptyBodyIsObject };

  app.post('/v1/support/webhook_deliveries/:id/retry', {
    ...common,
    schema: { operationId: 'retrySupportWebhookDelivery',
      ...write, tags, summary: 'Retry a webhook delivery now', description: AUDITED,
      params: IdParams, body: ReasonBody, response: { 200: SupportDeliveryDetailSchema, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => actions.retryDelivery(db, callerOf(request), request.params.id, request.body.reason));

  app.post('/v1/support/webhook_endpoints/:id/replay', {
    ...common,
    schema: { operationId: 'replaySupportWebhookEndpoint',
      ...write, tags, summary: "Replay an endpoint's events of a time window as new deliveries", description: AUDITED,
      params: IdParams, body: ReplayBody, response: { 200: ReplayResultSchema, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => actions.replayEndpoint(db, callerOf(request), request.params.id, request.body));

  app.post('/v1/support/webhook_endpoints/:id/enable', {
    ...common,
    schema: { operationId: 'enableSupportWebhookEndpoint',
      ...write, tags, summary: 'Re-enable a disabled webhook endpoint (restarts its failure clock)', description: AUDITED,
      params: IdParams, body: ReasonBody, response: { 200: SupportEndpointSchema, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => actions.enableEndpoint(db, callerOf(request), request.params.id, request.body.reason));

  app.post('/v1/support/payments/:id/reconcile', {
    ...common,
    schema: { operationId: 'reconcileSupportPayment',
      ...write, tags, summary: "Ask the reconciler to look at a payment's open processor attempts now", description: AUDITED,
      params: IdParams, body: ReasonBody, response: { 200: ReconcileResultSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => actions.reconcilePayment(db, callerOf(request), request.params.id, request.body.reason));

  app.post('/v1/support/payments/:id/notes', {
    ...common,
    schema: { operationId: 'createSupportPaymentNote',
      ...write, tags, summary: 'Add an internal note to a payment (never shown to the tenant)',
      description: 'Audited (`support.payment.note`); `reason` is optional here.',
      params: IdParams, body: NoteBody, response: { 201: NoteSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => reply.code(201).send(await actions.addNote(db, callerOf(request), request.params.id, request.body)));
}
