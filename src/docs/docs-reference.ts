import { escapeHtml, renderPage } from './docs-page.js';
import { renderInlineMarkdown, renderMarkdown, slugify } from './docs-markdown.js';
import { renderSchema, sampleFromSchema, schemaAnchor, typeLabel, type JsonSchema } from './docs-schema.js';

/** The parts of an OpenAPI 3.1 document the reference reads. */
export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  servers?: Array<{ url: string }>;
  tags?: Array<{ name: string; description?: string }>;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema>; securitySchemes?: Record<string, unknown> };
  security?: Array<Record<string, string[]>>;
}

interface MediaType {
  schema?: JsonSchema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown }>;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
  example?: unknown;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, MediaType> };
  responses?: Record<string, { description?: string; content?: Record<string, MediaType>; headers?: Record<string, { description?: string }> }>;
  security?: Array<Record<string, string[]>>;
  deprecated?: boolean;
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * Follows a local `$ref` (`#/components/parameters/…`, `#/components/responses/…`, headers, request bodies,
 * examples) to what it names; schemas keep their `$ref`, the schema renderer links them instead.
 */
function deref<T>(doc: OpenApiDocument, value: T): T {
  let current: unknown = value;
  for (let hops = 0; hops < 10; hops++) {
    const ref = (current as { $ref?: unknown } | undefined)?.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) break;
    let target: unknown = doc;
    for (const part of ref.slice(2).split('/')) {
      target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (target === undefined) break;
    current = target;
  }
  return current as T;
}

interface Entry {
  method: string;
  path: string;
  operation: Operation;
  anchor: string;
}

function operationAnchor(method: string, path: string, operation: Operation): string {
  return `op-${operation.operationId ? operation.operationId.replace(/[^A-Za-z0-9_-]/g, '-') : slugify(`${method} ${path}`)}`;
}

/** Where a path sits in the reference: an integrator's resources first, operators' and staff's last. */
const PATH_ORDER: ReadonlyArray<[RegExp, number]> = [
  [/^\/v1\/payments/, 0], [/^\/v1\/refunds/, 1], [/^\/v1\/events/, 2], [/^\/v1\/webhook/, 3],
  [/^\/(oauth|\.well-known)\//, 4], [/^\/v1\/admin\//, 7], [/^\/v1\/support\//, 8], [/^\/v1\/staff\//, 9],
];

function pathRank(path: string): number {
  return PATH_ORDER.find(([pattern]) => pattern.test(path))?.[1] ?? 5;
}

function resolveMedia(doc: OpenApiDocument, content: Record<string, MediaType> | undefined): Record<string, MediaType> | undefined {
  if (!content) return undefined;
  return Object.fromEntries(Object.entries(content).map(([type, media]) => [type, {
    ...media,
    ...(media.examples ? { examples: Object.fromEntries(Object.entries(media.examples).map(([k, v]) => [k, deref(doc, v)])) } : {}),
  }]));
}

/** The operation with every local reference but schemas followed, and the path's shared parameters added. */
function resolveOperation(doc: OpenApiDocument, operation: Operation, pathParameters: Parameter[]): Operation {
  const own = (operation.parameters ?? []).map((p) => deref(doc, p));
  const shared = pathParameters.map((p) => deref(doc, p)).filter((p) => !own.some((o) => o.name === p.name && o.in === p.in));
  const body = operation.requestBody ? deref(doc, operation.requestBody) : undefined;
  const responses = Object.fromEntries(Object.entries(operation.responses ?? {}).map(([status, r]) => {
    const response = deref(doc, r);
    const headers = response.headers ? Object.fromEntries(Object.entries(response.headers).map(([h, v]) => [h, deref(doc, v)])) : undefined;
    const content = resolveMedia(doc, response.content);
    return [status, { ...response, ...(headers ? { headers } : {}), ...(content ? { content } : {}) }];
  }));
  const bodyContent = body ? resolveMedia(doc, body.content) : undefined;
  return {
    ...operation,
    parameters: [...shared, ...own],
    ...(body ? { requestBody: { ...body, ...(bodyContent ? { content: bodyContent } : {}) } } : {}),
    responses,
  };
}

function collectOperations(doc: OpenApiDocument): Map<string, Entry[]> {
  const byTag = new Map<string, Entry[]>();
  for (const tag of doc.tags ?? []) byTag.set(tag.name, []);
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const pathParameters = (item as { parameters?: Parameter[] }).parameters ?? [];
    for (const method of HTTP_METHODS) {
      const declared = item[method];
      if (!declared) continue;
      const operation = resolveOperation(doc, declared, pathParameters);
      const tag = operation.tags?.[0] ?? 'other';
      const operations = byTag.get(tag) ?? [];
      byTag.set(tag, operations);
      operations.push({ method, path, operation, anchor: operationAnchor(method, path, operation) });
    }
  }
  for (const [tag, entries] of byTag) if (entries.length === 0) byTag.delete(tag);
  const rank = (entries: Entry[]) => Math.min(...entries.map((e) => pathRank(e.path)));
  // a stable sort: tags of the same rank keep the document's order
  return new Map([...byTag].sort(([, a], [, b]) => rank(a) - rank(b)));
}

function pretty(value: unknown): string {
  return `<pre><code>${escapeHtml(JSON.stringify(value, null, 2))}</code></pre>`;
}

function firstExample(media: MediaType, components: Record<string, JsonSchema>): unknown {
  if (media.example !== undefined) return media.example;
  const named = Object.values(media.examples ?? {})[0];
  if (named?.value !== undefined) return named.value;
  return media.schema ? sampleFromSchema(media.schema, components) : undefined;
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * A curl command that works pasted as is once TOKEN is set (the quick start sets it); the token request itself
 * authenticates with the client credentials the platform printed.
 */
function curlSample(doc: OpenApiDocument, entry: Entry, components: Record<string, JsonSchema>): string {
  const base = doc.servers?.[0]?.url ?? '';
  const path = entry.path.replace(/\{([^}]+)\}/g, (_m, name: string) => `$${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`);
  const lines = [`curl -X ${entry.method.toUpperCase()} "${base}${path}"`];
  const security = entry.operation.security ?? doc.security ?? [];
  const content = entry.operation.requestBody?.content ?? {};
  if (content['application/x-www-form-urlencoded']) {
    lines.push('-u "$NIMBUSPAY_CLIENT_ID:$NIMBUSPAY_CLIENT_SECRET"', '-d grant_type=client_credentials');
    return lines.join(' \\\n  ');
  }
  if (security.some((s) => 'oauth2' in s)) lines.push('-H "Authorization: Bearer $TOKEN"');
  for (const p of entry.operation.parameters ?? []) {
    if (p.in === 'header' && /^idempotency-key$/i.test(p.name)) lines.push(`-H "Idempotency-Key: $(node -pe 'crypto.randomUUID()')"`);
  }
  const json = content['application/json'];
  if (json) {
    const body = firstExample(json, components);
    if (body !== undefined) lines.push("-H 'Content-Type: application/json'", `-d ${shellQuote(JSON.stringify(body))}`);
  }
  return lines.join(' \\\n  ');
}

function renderParameters(parameters: Parameter[], components: Record<string, JsonSchema>): string {
  if (parameters.length === 0) return '';
  const rows = parameters.map((p) => {
    const schema = p.schema ?? {};
    return `<tr><td><code>${escapeHtml(p.name)}</code>${p.required ? '<span class="required">required</span>' : ''}</td>`
      + `<td>${escapeHtml(p.in)}</td><td>${renderSchema(schema, components, 3)}${p.description ? `<p>${renderInlineMarkdown(p.description)}</p>` : ''}</td></tr>`;
  });
  return `<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th>Type and description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderOperation(doc: OpenApiDocument, entry: Entry, components: Record<string, JsonSchema>): string {
  const { operation, method, path } = entry;
  const security = operation.security ?? doc.security ?? [];
  const scopes = [...new Set(security.flatMap((s) => Object.values(s).flat()))];
  const auth = security.length === 0
    ? 'No authentication.'
    : scopes.length > 0 ? `Scope: ${scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(' or ')}.` : `Authentication: ${security.flatMap(Object.keys).map(escapeHtml).join(' or ')}.`;
  const parts = [
    `<section class="operation" id="${entry.anchor}">`,
    `<h3>${escapeHtml(operation.summary ?? `${method.toUpperCase()} ${path}`)}</h3>`,
    `<p class="endpoint"><span class="method method-${method}">${method.toUpperCase()}</span><code>${escapeHtml(path)}</code></p>`,
    `<p class="muted">${auth}${operation.operationId ? ` Operation id <code>${escapeHtml(operation.operationId)}</code>.` : ''}</p>`,
    operation.description ? renderMarkdown(operation.description) : '',
    renderParameters(operation.parameters ?? [], components),
  ];
  for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
    parts.push(`<h4>Request body <span class="muted">${escapeHtml(type)}</span></h4>`);
    if (media.schema) parts.push(renderSchema(media.schema, components));
  }
  parts.push('<h4>Example request</h4>', `<pre><code>${escapeHtml(curlSample(doc, entry, components))}</code></pre>`);
  parts.push('<h4>Responses</h4>');
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    parts.push(`<h5>${escapeHtml(status)} <span class="muted">${escapeHtml(response.description ?? '')}</span></h5>`);
    const headers = Object.entries(response.headers ?? {});
    if (headers.length > 0) {
      parts.push(`<p>Headers: ${headers.map(([h, d]) => `<code>${escapeHtml(h)}</code>${d.description ? ` (${renderInlineMarkdown(d.description)})` : ''}`).join(', ')}</p>`);
    }
    const json = response.content?.['application/json'];
    if (json?.schema) {
      // success bodies in place; error bodies are the one error object, linked rather than repeated everywhere
      parts.push(status.startsWith('2') ? renderSchema(json.schema, components) : `<p>${typeLabel(json.schema)}</p>`);
      const example = firstExample(json, components);
      if (example !== undefined) parts.push('<details><summary>Example</summary>', pretty(example), '</details>');
    }
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** The reference page: the introduction, every operation grouped by tag, then every named schema. */
export function renderReference(doc: OpenApiDocument): string {
  const components = doc.components?.schemas ?? {};
  const groups = collectOperations(doc);
  const tagInfo = new Map((doc.tags ?? []).map((t) => [t.name, t]));
  const body: string[] = [
    `<h1>${escapeHtml(doc.info.title)} <span class="muted">${escapeHtml(doc.info.version)}</span></h1>`,
    doc.info.description ? renderMarkdown(doc.info.description) : '',
  ];
  const toc: string[] = ['<p><strong>Operations</strong></p>'];
  for (const [tag, entries] of groups) {
    const id = `tag-${slugify(tag)}`;
    body.push(`<h2 id="${id}">${escapeHtml(tag)}</h2>`);
    const description = tagInfo.get(tag)?.description;
    if (description) body.push(renderMarkdown(description));
    body.push(...entries.map((e) => renderOperation(doc, e, components)));
    toc.push(`<p><a href="#${id}">${escapeHtml(tag)}</a></p><ul>`);
    toc.push(...entries.map((e) => `<li><a href="#${e.anchor}">${escapeHtml(e.operation.summary ?? `${e.method.toUpperCase()} ${e.path}`)}</a></li>`));
    toc.push('</ul>');
  }
  const names = Object.keys(components);
  if (names.length > 0) {
    body.push('<h2 id="schemas">Schemas</h2>');
    for (const [name, schema] of Object.entries(components)) {
      body.push(`<section id="${schemaAnchor(name)}"><h3>${escapeHtml(name)}</h3>${renderSchema(schema, components)}</section>`);
    }
    toc.push('<p><a href="#schemas">Schemas</a></p>');
  }
  return renderPage({ title: 'API reference', current: 'reference', body: body.join('\n'), aside: toc.join('\n') });
}
