import type { HttpApp } from '../../platform/http/app.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import { ListSchema, PageQuerySchema, errorResponses } from '../../platform/http/pagination.js';
import { requireTenant } from '../../platform/http/auth-hook.js';
import {
  CreateEndpointBody, DeletedEndpointSchema, EndpointIdParams, ReplayBody, ReplaySchema, RotateSecretBody, UpdateEndpointBody,
  WebhookEndpointSchema, WebhookEndpointWithSecretSchema,
} from './endpoints/endpoints.schema.js';
import * as endpoints from './endpoints/endpoints.service.js';
import { DeliveryIdParams, ListDeliveriesQuery, WebhookDeliverySchema } from './deliveries/deliveries.schema.js';
import * as deliveries from './deliveries/deliveries.service.js';
import './webhooks-doc.schema.js';

const read = routeSecurity('webhooks:read');
const write = routeSecurity('webhooks:write');
const tags = ['Webhooks'];

export function registerWebhookRoutes(app: HttpApp, deps: endpoints.EndpointServiceDeps): void {
  const { db } = deps;

  app.post('/v1/webhook_endpoints', {
    schema: { operationId: 'createWebhookEndpoint',
      ...write, tags, summary: 'Create a webhook endpoint (its signing secret is shown once)',
      body: CreateEndpointBody, response: { 201: WebhookEndpointWithSecretSchema, ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const { tenantId } = requireTenant(request.auth);
    const created = await endpoints.createEndpoint(deps, tenantId, request.body);
    void reply.header('cache-control', 'no-store');
    return reply.code(201).send(created);
  });

  app.get('/v1/webhook_endpoints', {
    schema: { operationId: 'listWebhookEndpoints', ...read, tags, summary: 'List webhook endpoints', querystring: PageQuerySchema, response: { 200: ListSchema(WebhookEndpointSchema), ...errorResponses(400, 401, 403) } },
  }, async (request) => endpoints.listEndpoints(db, requireTenant(request.auth).tenantId, request.query));

  app.get('/v1/webhook_endpoints/:id', {
    schema: { operationId: 'getWebhookEndpoint', ...read, tags, summary: 'Retrieve a webhook endpoint', params: EndpointIdParams, response: { 200: WebhookEndpointSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => endpoints.getEndpoint(db, requireTenant(request.auth).tenantId, request.params.id));

  app.post('/v1/webhook_endpoints/:id', {
    schema: { operationId: 'updateWebhookEndpoint',
      ...write, tags, summary: 'Update a webhook endpoint (url, events, description, disabled)',
      params: EndpointIdParams, body: UpdateEndpointBody, response: { 200: WebhookEndpointSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => endpoints.updateEndpoint(deps, requireTenant(request.auth).tenantId, request.params.id, request.body));

  app.delete('/v1/webhook_endpoints/:id', {
    schema: { operationId: 'deleteWebhookEndpoint', ...write, tags, summary: 'Delete a webhook endpoint and its deliveries', params: EndpointIdParams, response: { 200: DeletedEndpointSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => endpoints.deleteEndpoint(db, requireTenant(request.auth).tenantId, request.params.id));

  app.post('/v1/webhook_endpoints/:id/rotate_secret', {
    schema: { operationId: 'rotateWebhookEndpointSecret',
      ...write, tags, summary: 'Rotate the signing secret (the new secret is shown once; the previous one keeps signing during the overlap)',
      params: EndpointIdParams, body: RotateSecretBody, response: { 200: WebhookEndpointWithSecretSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const rotated = await endpoints.rotateEndpointSecret(deps, requireTenant(request.auth).tenantId, request.params.id, request.body?.expire_previous_after_seconds);
    void reply.header('cache-control', 'no-store');
    return rotated;
  });

  app.get('/v1/webhook_endpoints/:id/deliveries', {
    schema: { operationId: 'listWebhookDeliveries',
      ...read, tags, summary: "List an endpoint's deliveries with their attempts, newest first",
      params: EndpointIdParams, querystring: ListDeliveriesQuery, response: { 200: ListSchema(WebhookDeliverySchema), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => deliveries.listEndpointDeliveries(db, requireTenant(request.auth).tenantId, request.params.id, request.query));

  app.post('/v1/webhook_endpoints/:id/replay', {
    schema: { operationId: 'replayWebhookEndpoint',
      ...write, tags, summary: 'Re-send the events of a time window (and types) as new deliveries',
      description: 'Times are unix seconds or RFC 3339. Only events the endpoint subscribes to are sent; at most 10,000 per replay. Each carries its original event id as webhook-id.',
      params: EndpointIdParams, body: ReplayBody, response: { 200: ReplaySchema, ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => deliveries.replayEvents(db, requireTenant(request.auth).tenantId, request.params.id, request.body));

  app.post('/v1/webhook_deliveries/:id/retry', {
    schema: { operationId: 'retryWebhookDelivery',
      ...write, tags, summary: 'Attempt a delivery again now',
      params: DeliveryIdParams, response: { 200: WebhookDeliverySchema, ...errorResponses(401, 403, 404, 409) },
    },
  }, async (request) => deliveries.retryDelivery(db, requireTenant(request.auth).tenantId, request.params.id));
}
