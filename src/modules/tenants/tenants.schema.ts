import { Type, type Static } from '@sinclair/typebox';
import { ALL_SCOPES } from '../../platform/http/scopes.js';

export const TenantSchema = Type.Object({
  id: Type.String({ examples: ['ten_01jq8x4m3c0000000000000000'] }),
  object: Type.Literal('tenant'),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  created_at: Type.String({ format: 'date-time' }),
});
export type TenantResource = Static<typeof TenantSchema>;

export const CreateTenantBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }) },
  { additionalProperties: false },
);

export const ScopeSchema = Type.Union(ALL_SCOPES.map((s) => Type.Literal(s)));

export const ApiClientSchema = Type.Object({
  client_id: Type.String(),
  object: Type.Literal('api_client'),
  tenant_id: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  created_at: Type.String({ format: 'date-time' }),
  secret_rotated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type ApiClientResource = Static<typeof ApiClientSchema>;

export const ApiClientWithSecretSchema = Type.Intersect([
  ApiClientSchema,
  Type.Object({ client_secret: Type.String({ description: 'Shown once. Store it in your secret manager.' }) }),
]);

export const CreateClientBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: 10, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export const TenantIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
export const ClientParams = Type.Object(
  { id: Type.String({ maxLength: 64 }), client_id: Type.String({ maxLength: 64 }) },
  { additionalProperties: false },
);
