import { Type } from '@sinclair/typebox';
import { documentAs } from '../../platform/http/openapi.js';
import { ApiClientSchema, ApiClientWithSecretSchema, CreateClientBody, CreateTenantBody, ScopeSchema, TenantSchema } from './tenants.schema.js';

// What the OpenAPI document shows for tenants and their API clients (conventions: src/platform/http/openapi.ts).

const TENANT_EXAMPLE = { id: 'ten_01jq8w0a2c4e6g8j0l2n4q6s8u', object: 'tenant', name: 'Acme Corp', status: 'active', created_at: '2026-03-01T08:00:00.000Z' };
const CLIENT_EXAMPLE = {
  client_id: 'cli_01jq8w1b3d5f7h9k1m3p5r7t9v',
  object: 'api_client',
  tenant_id: TENANT_EXAMPLE.id,
  name: 'Order service',
  scopes: ['payments:read', 'payments:write', 'refunds:write', 'events:read'],
  status: 'active',
  created_at: '2026-03-01T08:00:05.000Z',
  secret_rotated_at: null,
  revoked_at: null,
};
const clientProperties = { ...ApiClientSchema.properties, scopes: Type.Array(ScopeSchema) };

documentAs(TenantSchema, Type.Object(TenantSchema.properties, { $id: 'Tenant', examples: [TENANT_EXAMPLE] }));
documentAs(ApiClientSchema, Type.Object(clientProperties, { $id: 'ApiClient', examples: [CLIENT_EXAMPLE] }));
documentAs(ApiClientWithSecretSchema, Type.Object(
  { ...clientProperties, client_secret: Type.String({ description: 'Shown once. Store it in your secret manager.' }) },
  { $id: 'ApiClientWithSecret', examples: [{ ...CLIENT_EXAMPLE, client_secret: 'example-only-not-a-real-client-secret-0000' }] },
));
documentAs(CreateTenantBody, Type.Object(CreateTenantBody.properties, { $id: 'CreateTenantRequest', additionalProperties: false, examples: [{ name: 'Acme Corp' }] }));
documentAs(CreateClientBody, Type.Object(CreateClientBody.properties, {
  $id: 'CreateTenantClientRequest', additionalProperties: false, examples: [{ name: CLIENT_EXAMPLE.name, scopes: CLIENT_EXAMPLE.scopes }],
}));
