/**
 * finishDocument: the @fastify/swagger transformObject that applies openapi.ts's conventions to every operation
 * (shared error responses, X-Request-Id, Idempotency-Key, default descriptions, examples, security: []).
 */
import { ERROR_RESPONSES, errorSchema, type ErrorResponseName } from './openapi-errors.js';

export type Json = Record<string, unknown>;
export const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
export const IDEMPOTENCY_MARK = 'x-nimbuspay-idempotency';
export type IdempotencyRequirement = 'required' | 'optional';

const SUCCESS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted: the outcome is not known yet; it is resolved in the background (watch the events).',
  204: 'No content', 302: 'Redirect', 303: 'Redirect (see other)',
};

/** Descriptions of error answers in a route's own format (the token endpoint's RFC 6749 errors). */
const OTHER_DESCRIPTIONS: Record<string, string> = {
  400: 'The request is invalid (`error` says how: invalid_request, invalid_grant, unsupported_grant_type, invalid_scope, unauthorized_client).',
  401: 'Client authentication failed (`invalid_client`).',
  413: 'The request body is too large.',
  429: 'Too many failed authentications, or the endpoint is busy (`slow_down`): retry after Retry-After.',
};


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
  normalizeSchemas(paths);
  normalizeSchemas(schemas);
  for (const pathItem of Object.values(paths)) {
    for (const op of Object.values(pathItem)) finishOperation(op, schemas);
  }
  if (doc.components) {
    const components = doc.components as Record<string, Json>;
    components.schemas = { ...schemas, Error: errorSchema() };
    // shared responses and parameters no operation uses are left out (they stay available in sharedComponents)
    const used = JSON.stringify(doc.paths);
    for (const kind of ['responses', 'parameters'] as const) {
      const group = components[kind];
      if (!group) continue;
      for (const name of Object.keys(group)) {
        if (!used.includes(`"#/components/${kind}/${name}"`)) delete group[name];
      }
    }
  }
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
    // schema validation answers 400 on any operation that takes input
    if (Array.isArray(op.parameters) && op.parameters.length > 0 || op.requestBody) statuses.add('400');
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
    if (!answer.description || answer.description === 'Default Response') answer.description = SUCCESS_DESCRIPTIONS[status] ?? OTHER_DESCRIPTIONS[status] ?? 'Answer';
    answer.headers = {
      ...(answer.headers as Json | undefined),
      'X-Request-Id': ref('headers', 'XRequestId'),
      ...(status === '429' || status === '503' ? { 'Retry-After': ref('headers', 'RetryAfter') } : {}),
      ...(idempotency && Number(status) < 300 ? { 'Idempotent-Replayed': ref('headers', 'IdempotentReplayed') } : {}),
    };
    addMediaExamples(answer.content as Record<string, Json> | undefined, schemas);
    finished[status] = answer;
  }
  op.responses = finished;
  const body = op.requestBody as { content?: Record<string, Json>; required?: boolean } | undefined;
  addMediaExamples(body?.content, schemas);
  // a body whose every field is optional may be left out (it is read as {})
  const bodySchema = body?.content?.['application/json']?.schema as Json | undefined;
  const resolved = typeof bodySchema?.$ref === 'string' ? schemas[bodySchema.$ref.replace('#/components/schemas/', '')] : bodySchema;
  if (body && resolved && !(Array.isArray(resolved.required) && resolved.required.length > 0)) body.required = false;
}

/**
 * In place, everywhere: `{allOf: [{$ref}]}` (nameTopLevelSchemas) → `{$ref}`; TypeBox's union of string literals
 * (`anyOf` of one-value enums) → one `enum`; the same with `null` → `type: [string, null]` with the enum + null.
 */
function normalizeSchemas(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    for (const v of node) normalizeSchemas(v);
    return;
  }
  const o = node as Json;
  for (const v of Object.values(o)) normalizeSchemas(v);
  const allOf = o.allOf as Json[] | undefined;
  if (Array.isArray(allOf) && allOf.length === 1 && typeof allOf[0]?.$ref === 'string' && Object.keys(o).length === 1) {
    o.$ref = allOf[0].$ref;
    delete o.allOf;
  }
  const anyOf = o.anyOf as Json[] | undefined;
  if (!Array.isArray(anyOf)) return;
  // a branch that is only string values: `{type: 'string', enum: [...]}` (a description may ride along)
  const isStrings = (b: Json) => b.type === 'string' && Array.isArray(b.enum) && Object.keys(b).every((k) => ['type', 'enum', 'description'].includes(k));
  const strings = anyOf.filter(isStrings);
  const nulls = anyOf.filter((b) => b.type === 'null' && Object.keys(b).length === 1);
  if (strings.length === 0 || strings.length + nulls.length !== anyOf.length || (strings.length === 1 && nulls.length === 0)) return;
  const values = strings.flatMap((b) => b.enum as unknown[]);
  const description = strings.find((b) => b.description)?.description;
  delete o.anyOf;
  if (description && !o.description) o.description = description;
  if (nulls.length) {
    o.type = ['string', 'null'];
    o.enum = [...values, null];
  } else {
    o.type = 'string';
    o.enum = values;
  }
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
  if (Array.isArray(target.examples) && target.examples.length > 0) return target.examples[0];
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

