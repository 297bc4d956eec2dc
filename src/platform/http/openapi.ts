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
 * - `documentBodyAs(runtime, documented)`: when the document should describe a body more precisely than the Ajv
 *   schema does (a discriminated union the service checks itself), e.g. CreatePaymentRequest.
 */
import type { SwaggerOptions } from '@fastify/swagger';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { ERROR_RESPONSES, errorExample, errorSchema, type ErrorResponseName, type ErrorResponseSpec } from './openapi-errors.js';
import { PLATFORM_SCOPES, TENANT_SCOPES } from './scopes.js';

export const OPENAPI_TAGS = [
  { name: 'OAuth 2.0', description: 'Access tokens (client credentials), the signing keys that verify them, and the server metadata.' },
  { name: 'Payments', description: 'Card payments (authorize, capture, cancel) and bank transfers (debits with a settlement timeline).' },
  { name: 'Refunds', description: 'Partial or full refunds of captured payments.' },
  { name: 'Events', description: 'Everything that happened to your objects, kept for 30 days; the same events webhooks deliver.' },
  { name: 'Webhooks', description: 'Endpoints that receive signed events (Standard Webhooks), their deliveries, retries and replays.' },
  { name: 'Processor notifications', description: 'Signed callbacks from payment processors (not for integrators).' },
  { name: 'Platform admin', description: 'Tenants, their API clients, staff users and signing keys (platform:admin).' },
  { name: 'Support', description: 'Read-only views across tenants and audited operational actions (support:read / support:write).' },
  { name: 'Staff', description: 'Support console sign-in (password + TOTP, or SSO) and sessions.' },
] as const;

const SUCCESS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted: the outcome is not known yet; it is resolved in the background (watch the events).',
  204: 'No content', 302: 'Redirect', 303: 'Redirect (see other)',
};

const IDEMPOTENCY_MARK = 'x-nimbuspay-idempotency';
export type IdempotencyRequirement = 'required' | 'optional';

/** The runtime header schema is never `required`: runIdempotent answers 400 idempotency_key_missing itself. */
export function idempotencyKey(requirement: IdempotencyRequirement) {
  return {
    headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } },
    [IDEMPOTENCY_MARK]: requirement,
  } as const;
}

const documentedBodies = new WeakMap<object, object>();
/** Returns `runtime` (what Ajv validates) and makes the document show `documented` for that body instead. */
export function documentBodyAs<T extends object>(runtime: T, documented: object): T {
  documentedBodies.set(runtime, documented);
  return runtime;
}

type Json = Record<string, unknown>;
const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

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
    + '`idempotency_key_reused`; while the first request runs, 409 `idempotency_key_in_use`. A refund key belongs to its payment.';
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
        license: { name: 'MIT', identifier: 'MIT' },
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
    transform: ({ schema, url }) => {
      const body = (schema as { body?: object } | undefined)?.body;
      const documented = body ? documentedBodies.get(body) : undefined;
      return { schema: documented ? { ...schema, body: documented } : schema, url } as never;
    },
    transformObject: (({ openapiObject }: { openapiObject: Json }) => finishDocument(openapiObject)) as never,
  };
}

const ERROR_REF_BY_STATUS = new Map<string, ErrorResponseName>(
  Object.entries(ERROR_RESPONSES).filter(([name]) => name !== 'IdempotencyConflict').map(([name, spec]) => [String(spec.status), name as ErrorResponseName]),
);

function needsToken(op: Json): boolean {
  const security = op.security as Array<Record<string, unknown>> | undefined;
  return Array.isArray(security) && security.some((s) => 'oauth2' in s);
}

/** Applies the conventions of this file's header to every operation. */
export function finishDocument(doc: Json): Json {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  for (const pathItem of Object.values(paths)) {
    for (const op of Object.values(pathItem)) finishOperation(op, schemas);
  }
  if (doc.components) (doc.components as Json).schemas = { ...schemas, Error: errorSchema() };
  return doc;
}

function finishOperation(op: Json, schemas: Record<string, Json>): void {
  if (op.security === undefined) op.security = [];
  const idempotency = op[IDEMPOTENCY_MARK] as IdempotencyRequirement | undefined;
  delete op[IDEMPOTENCY_MARK];
  if (Array.isArray(op.parameters)) {
    op.parameters = (op.parameters as Json[]).map((p) => (p.in === 'header' && String(p.name).toLowerCase() === 'idempotency-key'
      ? ref('parameters', idempotency === 'optional' ? 'IdempotencyKeyOptional' : 'IdempotencyKey')
      : p));
  }
  const responses = (op.responses ?? {}) as Record<string, Json>;
  const custom = new Set(Object.keys(responses).filter((s) => Number(s) >= 400 && !isErrorSchemaResponse(responses[s])));
  const statuses = new Set(Object.keys(responses));
  if (!custom.size) {
    statuses.add('500');
    statuses.add('503');
    if (needsToken(op)) {
      statuses.add('401');
      statuses.add('403');
    }
  }
  const finished: Record<string, Json> = {};
  for (const status of [...statuses].sort()) {
    const response = responses[status];
    if (Number(status) >= 400 && !custom.has(status)) {
      const name = ERROR_REF_BY_STATUS.get(status);
      if (!name) throw new Error(`no shared error response for status ${status}: add it to ERROR_RESPONSES`);
      finished[status] = ref('responses', idempotency && name === 'Conflict' ? 'IdempotencyConflict' : name);
      continue;
    }
    const answer: Json = { ...(response ?? {}) };
    if (!answer.description || answer.description === 'Default Response') answer.description = SUCCESS_DESCRIPTIONS[status] ?? 'Answer';
    answer.headers = {
      ...(answer.headers as Json | undefined),
      'X-Request-Id': ref('headers', 'XRequestId'),
      ...(idempotency && Number(status) < 300 ? { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') } : {}),
    };
    addMediaExamples(answer.content as Record<string, Json> | undefined, schemas);
    finished[status] = answer;
  }
  op.responses = finished;
  const body = op.requestBody as { content?: Record<string, Json> } | undefined;
  addMediaExamples(body?.content, schemas);
}

function isErrorSchemaResponse(response: Json | undefined): boolean {
  const media = (response?.content as Record<string, Json> | undefined)?.['application/json'];
  return (media?.schema as Json | undefined)?.$ref === '#/components/schemas/Error';
}

function schemaExample(schema: Json | undefined, schemas: Record<string, Json>): unknown {
  if (!schema) return undefined;
  const name = typeof schema.$ref === 'string' ? schema.$ref.replace('#/components/schemas/', '') : undefined;
  const target = name ? schemas[name] : schema;
  if (!target) return undefined;
  if (target.example !== undefined) return target.example;
  const props = target.properties as Record<string, Json> | undefined;
  // a list wrapper: { object: 'list', data: [item], has_more }
  if (props?.data?.type === 'array' && props.has_more) {
    const item = schemaExample(props.data.items as Json, schemas);
    if (item !== undefined) return { object: 'list', data: [item], has_more: false };
  }
  return undefined;
}

function addMediaExamples(content: Record<string, Json> | undefined, schemas: Record<string, Json>): void {
  for (const media of Object.values(content ?? {})) {
    if (media.example !== undefined || media.examples !== undefined) continue;
    const example = schemaExample(media.schema as Json, schemas);
    if (example !== undefined) media.example = example;
  }
}

export type { ErrorCode };
export { ERROR_CODES };
