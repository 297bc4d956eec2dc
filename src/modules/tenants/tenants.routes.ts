import type { Db } from '../../platform/db.js';
import type { KeyRing } from '../../platform/crypto.js';
import type { HttpApp } from '../../platform/http/app.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import { ListSchema, PageQuerySchema, errorResponses } from '../../platform/http/pagination.js';
import { authenticationRequired } from '../../platform/http/auth-hook.js';
import type { FastifyRequest } from 'fastify';
import {
  ApiClientSchema, ApiClientWithSecretSchema, ClientParams, CreateClientBody, CreateTenantBody, TenantIdParams, TenantSchema,
} from './tenants.schema.js';
import * as service from './tenants.service.js';
import './tenants-doc.schema.js';

const admin = routeSecurity('platform:admin', { staffSession: true });
const tags = ['Platform admin'];

function actor(request: FastifyRequest) {
  if (!request.auth) throw authenticationRequired();
  return { auth: request.auth, requestId: request.id };
}

export function registerTenantRoutes(app: HttpApp, deps: { db: Db; keyRing: KeyRing }): void {
  const { db, keyRing } = deps;
  app.post('/v1/admin/tenants', {
    schema: { operationId: 'createTenant', ...admin, tags, summary: 'Create a tenant', body: CreateTenantBody, response: { 201: TenantSchema, ...errorResponses(400, 401, 403) } },
  }, async (request, reply) => reply.code(201).send(await service.createTenant(db, request.body, actor(request))));

  app.get('/v1/admin/tenants', {
    schema: { operationId: 'listTenants', ...admin, tags, summary: 'List tenants', querystring: PageQuerySchema, response: { 200: ListSchema(TenantSchema), ...errorResponses(400, 401, 403) } },
  }, async (request) => service.listTenants(db, request.query));

  app.get('/v1/admin/tenants/:id', {
    schema: { operationId: 'getTenant', ...admin, tags, summary: 'Retrieve a tenant', params: TenantIdParams, response: { 200: TenantSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => service.getTenant(db, request.params.id));

  app.post('/v1/admin/tenants/:id/clients', {
    schema: { operationId: 'createTenantClient',
      ...admin, tags, summary: 'Create an API client for a tenant (the secret is shown once)',
      params: TenantIdParams, body: CreateClientBody, response: { 201: ApiClientWithSecretSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    return reply.code(201).send(await service.createClient(db, keyRing, request.params.id, request.body, actor(request)));
  });

  app.get('/v1/admin/tenants/:id/clients', {
    schema: { operationId: 'listTenantClients', ...admin, tags, summary: "List a tenant's API clients", params: TenantIdParams, response: { 200: ListSchema(ApiClientSchema), ...errorResponses(401, 403, 404) } },
  }, async (request) => ({ object: 'list' as const, data: await service.listClients(db, request.params.id), has_more: false }));

  app.post('/v1/admin/tenants/:id/clients/:client_id/rotate_secret', {
    schema: { operationId: 'rotateTenantClientSecret', ...admin, tags, summary: 'Rotate a client secret (the new secret is shown once; the old one stops working)', params: ClientParams, response: { 200: ApiClientWithSecretSchema, ...errorResponses(401, 403, 404) } },
  }, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    return service.rotateClientSecret(db, keyRing, request.params.id, request.params.client_id, actor(request));
  });

  app.delete('/v1/admin/tenants/:id/clients/:client_id', {
    schema: { operationId: 'revokeTenantClient', ...admin, tags, summary: 'Revoke a client: it can get no new tokens', params: ClientParams, response: { 200: ApiClientSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => service.revokeClient(db, request.params.id, request.params.client_id, actor(request)));
}
