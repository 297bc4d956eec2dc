/**
 * The OpenAPI document as a product. @fastify/swagger builds it from the route schemas; `finishDocument` (its
 * transformObject) then applies the conventions below to every operation, so a route states only what is its own.
 *
 * Conventions for a route's `schema:` block
 * - `operationId`: lowerCamelCase verb + noun (`createPayment`, `listPayments`, `getPayment`, `capturePayment`,
 *   `listPaymentRefunds`, `retryWebhookDelivery`); unique in the document. `summary` (a short imperative sentence)
 *   and one of OPENAPI_TAGS as `tags`.
 * - Named schemas: give a TypeBox schema `$id: 'PascalCase'` and it becomes `#/components/schemas/<$id>` (lists:
 *   `listOf(ItemSchema)` names `<Item>List`). A request body's `$id` is `<OperationId in PascalCase>Request`, e.g.
 *   `CreatePaymentRequest`. A body schema object is used by one route only (Ajv refuses two objects with one $id).
 * - Examples: `examples: [value]` on a named resource schema is its example everywhere it is answered (lists are
 *   built from the item's). A request body's example goes in its schema's `examples` too. Use real prefixes
 *   (`pay_`, `re_`, `evt_`, `we_`, `whd_`, `req_`), amounts in minor units, test card 4242 4242 4242 4242, never a
 *   real secret.
 * - Responses: declare success statuses with their schema; errors with `errorResponses(400, 404, ...)` (each
 *   becomes `#/components/responses/<Name>`, with the Error schema and an example per error code of that status).
 *   Every operation also gets 500 and 503, and 401 + 403 when it needs a token; every answer the `X-Request-Id`
 *   header. `description` on a success schema is the response's description (else a default per status).
 * - Money-moving POSTs: spread `idempotencyKey('required')` (or `'optional'`) into the schema: the header becomes
 *   `#/components/parameters/IdempotencyKey`, success answers get `Idempotent-Replayed`. The runtime check stays in
 *   runIdempotent (a missing key answers 400 `idempotency_key_missing`, not a schema error).
 * - Security: `...routeSecurity(scope)` on protected routes; a route without it is documented `security: []`.
 * - `documentAs(runtime, shown)`: when the document should describe a schema more precisely than the runtime one
 *   (a discriminated union the service checks itself, enums the serializer need not check), e.g. Payment,
 *   CreatePaymentRequest in src/modules/payments/payments-doc.schema.ts.
 */
import type { SwaggerOptions } from '@fastify/swagger';
import { ERROR_RESPONSES, errorExample, errorSchema, type ErrorResponseSpec } from './openapi-errors.js';
import { IDEMPOTENCY_MARK, finishDocument, ref, type IdempotencyRequirement, type Json } from './openapi-finish.js';
import { PLATFORM_SCOPES, TENANT_SCOPES } from './scopes.js';

export const OPENAPI_TAGS = [
  { name: 'OAuth 2.0', description: 'Access tokens (client credentials), the signing keys that verify them, and the server metadata.' },
  { name: 'Payments', description: 'Card payments (authorize, capture, cancel) and bank transfers (debits with a settlement timeline).' },
  { name: 'Refunds', description: 'Partial or full refunds of captured payments.' },
  { name: 'Events', description: 'Everything that happened to your objects, kept for 30 days; the same events webhooks deliver.' },
  { name: 'Webhooks', description: 'Endpoints that receive signed events (Standard Webhooks), their deliveries, retries and replays.' },
  { name: 'Request logs', description: "Your own API request log: method, route, status, latency and error code of each call (logs:read)." },
  { name: 'Processor notifications', description: 'Signed callbacks from payment processors (not for integrators).' },
  { name: 'Platform admin', description: 'Tenants, their API clients and signing keys (platform:admin).' },
  { name: 'Support', description: 'Read-only views across tenants for the support console (support:read).' },
  { name: 'Support actions', description: 'Operational actions on tenant data, each written to the audit log with its reason (support:write).' },
  { name: 'Staff (support console)', description: 'Support console sign-in (password + TOTP, or SSO), sessions and staff accounts.' },
] as const;

const DOCUMENTED_RESPONSES = 'x-nimbuspay-documented-response';

/**
 * For routes that answer without a response schema on purpose (the serializer would drop fields it does not know,
 * e.g. a JWK's): the document shows these response schemas; the route's answers are not serialized through them.
 */
export function documentedResponses(responses: Record<number, object>) {
  return { [DOCUMENTED_RESPONSES]: responses } as const;
}

/** The runtime header schema is never `required`: runIdempotent answers 400 idempotency_key_missing itself. */
export function idempotencyKey(requirement: IdempotencyRequirement) {
  return {
    headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } },
    [IDEMPOTENCY_MARK]: requirement,
  } as const;
}

const documented = new WeakMap<object, object>();
/**
 * The document shows `shown` wherever the route schemas use `runtime` (a body, a response, or inside one), while
 * Ajv and the serializer keep using `runtime`. For rules the service enforces itself, and for enums the serializer
 * need not check.
 */
export function documentAs<T extends object>(runtime: T, shown: object): T {
  documented.set(runtime, shown);
  return runtime;
}

/**
 * @fastify/swagger inlines a body or response schema even when it has an `$id` (only nested ones become components):
 * wrapped in `allOf`, it is nested, so it becomes `#/components/schemas/<$id>`; finishDocument unwraps the allOf.
 */
function nameTopLevelSchemas(schema: Json | undefined): Json | undefined {
  if (!schema) return schema;
  const wrap = (s: unknown) => (typeof s === 'object' && s !== null && typeof (s as Json).$id === 'string' ? { allOf: [s] } : s);
  const out: Json = { ...schema };
  if (out[DOCUMENTED_RESPONSES]) {
    out.response = { ...(out[DOCUMENTED_RESPONSES] as Json), ...(out.response as Json | undefined) };
    delete out[DOCUMENTED_RESPONSES];
  }
  if (out.body) out.body = wrap(out.body);
  if (out.response) out.response = Object.fromEntries(Object.entries(out.response as Json).map(([status, s]) => [status, wrap(s)]));
  return out;
}

/** The `$id` a schema has in the document (its own, or that of what documentAs shows for it). */
export function documentedId(schema: object): string | undefined {
  const id = ((documented.get(schema) ?? schema) as { $id?: unknown }).$id;
  return typeof id === 'string' ? id : undefined;
}

function swapDocumented(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const shown = documented.get(value);
  if (shown) return shown;
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const v of value) out.push(swapDocumented(v, seen));
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  // TypeBox's [Kind]/[Hint] symbols are not copied: the document needs only the JSON Schema keys
  for (const [k, v] of Object.entries(value)) out[k] = swapDocumented(v, seen);
  return out;
}

function sharedComponents(publicUrl: string): Json {
  const responses: Json = {};
  for (const [name, spec] of Object.entries(ERROR_RESPONSES) as Array<[string, ErrorResponseSpec]>) {
    const examples: Json = {};
    for (const code of spec.codes()) examples[code] = { summary: code, value: errorExample(code, publicUrl) };
    responses[name] = {
      description: spec.description,
      headers: { 'X-Request-Id': ref('headers', 'XRequestId'), ...(spec.retryAfter ? { 'Retry-After': ref('headers', 'RetryAfter') } : {}) },
      content: { 'application/json': { schema: ref('schemas', 'Error'), examples } },
    };
  }
  const keyDescription = 'A unique key per money-moving request (1–255 visible ASCII characters, e.g. a UUID). A retry with the same key and '
    + 'body returns the first answer (with `Idempotent-Replayed: true`) for at least 24 hours; the same key with another body answers 422 '
    + '`idempotency_key_reused`; while the first request runs, 409 `idempotency_key_in_use`. After the retention, a key that created a payment '
    + 'or a refund answers 409 `idempotency_key_expired` naming it. A refund key belongs to its payment (422 on another payment).';
  const keySchema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' };
  return {
    schemas: { Error: errorSchema() },
    responses,
    parameters: {
      IdempotencyKey: {
        name: 'Idempotency-Key', in: 'header', required: true, schema: keySchema, example: '5f0c6a8e-3b1d-4c2a-9e7f-2d8b1a6c4e90',
        description: `Required: without it the request answers 400 \`idempotency_key_missing\`. ${keyDescription}`,
      },
      IdempotencyKeyOptional: {
        name: 'Idempotency-Key', in: 'header', required: false, schema: keySchema, example: '5f0c6a8e-3b1d-4c2a-9e7f-2d8b1a6c4e90',
        description: `Optional. ${keyDescription}`,
      },
    },
    headers: {
      XRequestId: { description: 'The request id (also `request_id` in errors and in the logs); send your own in `X-Request-Id` to correlate.', schema: { type: 'string', example: 'req_01jq8x4m3c7kq2v9d8r6t5w4yz' } },
      IdempotentReplayed: { description: '`true` when this answer is the stored answer of an earlier request with the same Idempotency-Key.', schema: { type: 'string', enum: ['true'] } },
      RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0, example: 1 } },
    },
  };
}

/** The @fastify/swagger options: named schemas from `$id`, shared components, and `finishDocument`. */
export function swaggerOptions(options: { title: string; description?: string; publicUrl: string; tokenUrl?: string }): SwaggerOptions {
  const components = sharedComponents(options.publicUrl);
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.title,
        version: '1.0.0',
        ...(options.description ? { description: options.description } : {}),
        contact: { name: 'NimbusPay', url: `${options.publicUrl}/docs` },
      },
      servers: [{ url: options.publicUrl, description: 'This NimbusPay platform' }],
      tags: OPENAPI_TAGS.map((t) => ({ ...t })),
      components: {
        ...components,
        securitySchemes: {
          staffSession: {
            type: 'apiKey',
            in: 'cookie',
            name: '__Host-nimbuspay_session',
            description: 'Support console session (staff only), set by /v1/staff/login or SSO; `nimbuspay_session` in development. '
              + 'State-changing calls also need the session\'s CSRF token in the X-CSRF-Token header.',
          },
          oauth2: {
            type: 'oauth2',
            description: 'OAuth 2.0 client credentials (RFC 6749 §4.4); access tokens are JWTs (RFC 9068), sent as `Authorization: Bearer <token>`.',
            flows: {
              clientCredentials: {
                tokenUrl: options.tokenUrl ?? `${options.publicUrl}/oauth/token`,
                scopes: { ...TENANT_SCOPES, ...PLATFORM_SCOPES },
              },
            },
          },
          clientBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'The token endpoint only: client_id and client_secret as HTTP Basic credentials (client_secret_basic). '
              + 'Sending them as form fields instead (client_secret_post) is also accepted.',
          },
        },
      },
    } as SwaggerOptions extends { openapi?: infer O } ? O : never,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transform: ({ schema, url }) => ({ schema: nameTopLevelSchemas(swapDocumented(schema) as Json | undefined), url }) as never,
    transformObject: (({ openapiObject }: { openapiObject: Json }) => finishDocument(openapiObject)) as never,
  };
}

