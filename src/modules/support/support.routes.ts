import type { FastifyRequest } from 'fastify';
import type { HttpApp } from '../../platform/http/app.js';
import { authenticationRequired } from '../../platform/http/auth-hook.js';
import { ListSchema, errorResponses } from '../../platform/http/pagination.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import {
  AuditEntrySchema, HealthSchema, IdParams, ListAuditQuery, ListDeliveriesQuery, ListPaymentsQuery, ListRefundsQuery, ListRequestsQuery,
  ListTenantsQuery, RequestLogEntrySchema, SearchQuery, SearchResultSchema, SupportDeliveryDetailSchema, SupportDeliverySchema,
  SupportPaymentSchema, SupportRefundSchema, SupportTenantSchema, TenantOverviewSchema, TimelineSchema,
} from './support.schema.js';
import * as service from './support.service.js';
import { search } from './search.service.js';
import { paymentTimeline } from './timeline.service.js';
import { systemHealth, type HealthDeps } from './health.service.js';
import './support-doc.schema.js';

const read = routeSecurity('support:read', { staffSession: true });
const tags = ['Support'];
const CROSS_TENANT = 'Without `tenant` the read runs across tenants and writes a `support.search` audit entry.';

export function callerOf(request: FastifyRequest): service.Caller {
  if (!request.auth) throw authenticationRequired();
  return { actor: request.auth.actor, requestId: request.id };
}

export function registerSupportReadRoutes(app: HttpApp, deps: service.ReadDeps & { health: HealthDeps }): void {
  app.get('/v1/support/search', {
    schema: { operationId: 'searchSupport',
      ...read, tags, summary: 'Find anything by id (any prefix), request id, processor reference, customer reference or card last4',
      description: 'Always audited (`support.search`).',
      querystring: SearchQuery, response: { 200: SearchResultSchema, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => search(deps, callerOf(request), request.query.q));

  app.get('/v1/support/payments', {
    schema: { operationId: 'searchSupportPayments',
      ...read, tags, summary: 'Search payments across tenants (masked as the tenant API masks them)', description: CROSS_TENANT,
      querystring: ListPaymentsQuery, response: { 200: ListSchema(SupportPaymentSchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => service.listPayments(deps, callerOf(request), request.query));

  app.get('/v1/support/payments/:id', {
    schema: { operationId: 'getSupportPayment', ...read, tags, summary: 'Retrieve any tenant\'s payment', params: IdParams, response: { 200: SupportPaymentSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => service.getPayment(deps, request.params.id));

  app.get('/v1/support/payments/:id/timeline', {
    schema: { operationId: 'getSupportPaymentTimeline',
      ...read, tags, summary: "A payment's timeline: transitions, processor attempts, refunds, events, webhooks, requests, notes and audit, oldest first",
      params: IdParams, response: { 200: TimelineSchema, ...errorResponses(401, 403, 404) },
    },
  }, async (request) => paymentTimeline(deps, request.params.id));

  app.get('/v1/support/refunds', {
    schema: { operationId: 'searchSupportRefunds',
      ...read, tags, summary: 'Search refunds across tenants', description: CROSS_TENANT,
      querystring: ListRefundsQuery, response: { 200: ListSchema(SupportRefundSchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => service.listRefunds(deps, callerOf(request), request.query));

  app.get('/v1/support/requests', {
    schema: { operationId: 'listSupportRequests',
      ...read, tags, summary: 'The request log (no bodies, headers or tokens), newest first; the cursor is the row id', description: CROSS_TENANT,
      querystring: ListRequestsQuery, response: { 200: ListSchema(RequestLogEntrySchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => service.listRequests(deps, callerOf(request), request.query));

  app.get('/v1/support/tenants', {
    schema: { operationId: 'listSupportTenants', ...read, tags, summary: 'List tenants', querystring: ListTenantsQuery, response: { 200: ListSchema(SupportTenantSchema), ...errorResponses(400, 401, 403) } },
  }, async (request) => service.listTenants(deps, request.query));

  app.get('/v1/support/tenants/:id', {
    schema: { operationId: 'getSupportTenant',
      ...read, tags, summary: 'A tenant at a glance: clients (never secrets), recent volume and failures, webhook endpoints',
      params: IdParams, response: { 200: TenantOverviewSchema, ...errorResponses(401, 403, 404) },
    },
  }, async (request) => service.tenantOverview(deps, request.params.id));

  app.get('/v1/support/webhook_deliveries', {
    schema: { operationId: 'searchSupportWebhookDeliveries',
      ...read, tags, summary: 'Search webhook deliveries across tenants', description: CROSS_TENANT,
      querystring: ListDeliveriesQuery, response: { 200: ListSchema(SupportDeliverySchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => service.listDeliveries(deps, callerOf(request), request.query));

  app.get('/v1/support/webhook_deliveries/:id', {
    schema: { operationId: 'getSupportWebhookDelivery', ...read, tags, summary: 'A webhook delivery with each attempt', params: IdParams, response: { 200: SupportDeliveryDetailSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => service.getDelivery(deps, request.params.id));

  app.get('/v1/support/health', {
    schema: { operationId: 'getSupportHealth',
      ...read, tags, summary: 'System health: API and workers, processor circuit and error rate, stuck payments, webhook backlog, migrations',
      response: { 200: HealthSchema, ...errorResponses(401, 403) },
    },
  }, async () => systemHealth(deps.health));

  app.get('/v1/support/audit_log', {
    schema: { operationId: 'listAuditLog',
      ...read, tags, summary: 'The audit log (admin and support actions, and cross-tenant reads), newest first', description: CROSS_TENANT,
      querystring: ListAuditQuery, response: { 200: ListSchema(AuditEntrySchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => service.listAudit(deps, callerOf(request), request.query));
}
