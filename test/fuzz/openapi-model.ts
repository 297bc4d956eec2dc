import { resolver, type JsonSchema, type Resolve } from './json-values.js';

export interface OperationParam {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
}

/** One operation of the OpenAPI document, as much of it as the fuzz test needs. */
export interface Operation {
  /** `POST /v1/payments` */
  key: string;
  method: string;
  /** template, `/v1/payments/{id}` */
  path: string;
  params: OperationParam[];
  /** the documented request body; undefined when the document describes none */
  body?: { contentType: string; schema: JsonSchema | undefined };
  /** the first oauth2 scope the operation asks for; undefined on public operations */
  scope?: string;
  /** documented response statuses (`302`, `400`, …) */
  responses: string[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, {
    parameters?: Array<DocParam | { $ref: string }>;
    requestBody?: { content: Record<string, { schema?: JsonSchema }> };
    security?: Array<Record<string, string[]>>;
    responses?: Record<string, unknown>;
  }>>;
  security?: Array<Record<string, string[]>>;
  components?: { schemas?: Record<string, JsonSchema>; parameters?: Record<string, DocParam> };
}
type DocParam = { name: string; in: OperationParam['in']; required?: boolean; schema?: JsonSchema };

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export function readOperations(doc: unknown): { operations: Operation[]; resolve: Resolve } {
  const d = doc as OpenApiDocument;
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(d.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!HTTP_METHODS.includes(method)) continue;
      const content = op.requestBody?.content ?? {};
      const contentType = Object.keys(content)[0];
      const security = op.security ?? d.security ?? [];
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((raw) => {
          // shared parameters (#/components/parameters/IdempotencyKey); header names compared in lower case
          const p = '$ref' in raw ? d.components!.parameters![raw.$ref.split('/').pop()!]! : raw;
          return { name: p.in === 'header' ? p.name.toLowerCase() : p.name, in: p.in, required: p.required === true, schema: p.schema ?? {} };
        }),
        ...(contentType ? { body: { contentType, schema: content[contentType]?.schema } } : {}),
        ...(security[0]?.oauth2?.[0] ? { scope: security[0].oauth2[0] } : {}),
        responses: Object.keys(op.responses ?? {}),
      });
    }
  }
  return { operations, resolve: resolver(d.components?.schemas) };
}

/** Path parameter names of a template, in order. */
export function pathParamNames(template: string): string[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
}

/** The resource a path parameter names: the segment before it (`/v1/payments/{id}` → `payments`). */
export function resourceOf(template: string, param: string): string {
  const segments = template.split('/');
  const i = segments.indexOf(`{${param}}`);
  return i > 0 ? segments[i - 1]! : '';
}
