import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FuzzCase } from './fuzz-cases.js';
import { pathParamNames, type Operation } from './openapi-model.js';
import type { JsonSchema, Resolve } from './json-values.js';
import { header, type WireResponse } from './raw-http.js';

export type Who = 'owner' | 'other' | 'none';

const RFC6749_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'slow_down']);
const PLATFORM_SCOPES = new Set(['platform:admin', 'support:read', 'support:write']);

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
// Configured like the API's validators (src/platform/http/app.ts): bodies strict, query and path coerced.
const bodyAjv = addFormats(new Ajv({ strict: false, allErrors: false, coerceTypes: false }));
const paramAjv = addFormats(new Ajv({ strict: false, allErrors: false, coerceTypes: 'array' }));

function deref(schema: JsonSchema, resolve: Resolve, depth = 0): unknown {
  const s = resolve(schema) as Record<string, unknown>;
  if (depth > 12) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (Array.isArray(v)) out[k] = v.map((x) => (x && typeof x === 'object' ? deref(x as JsonSchema, resolve, depth + 1) : x));
    else if (v && typeof v === 'object' && k !== 'enum' && k !== 'const' && k !== 'default') {
      out[k] = k === 'properties' || k === 'patternProperties'
        ? Object.fromEntries(Object.entries(v).map(([name, p]) => [name, deref(p as JsonSchema, resolve, depth + 1)]))
        : deref(v as JsonSchema, resolve, depth + 1);
    } else out[k] = v;
  }
  return out;
}

const compiled = new Map<string, ValidateFunction | null>();
function validator(ajv: Ajv, key: string, schema: () => unknown): ValidateFunction | null {
  if (!compiled.has(key)) {
    try {
      compiled.set(key, ajv.compile(schema() as object));
    } catch {
      compiled.set(key, null);
    }
  }
  return compiled.get(key)!;
}

const decode = (raw: string): string | null => {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
};

/** NUL, or a UTF-16 surrogate without its other half (a pair, as in an emoji, is a character like any other). */
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function hasUnstorable(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (UNSTORABLE_TEXT.test(v)) return true;
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (UNSTORABLE_TEXT.test(k)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

function contentTypeOf(c: FuzzCase): string | undefined {
  const values = c.headers.filter(([n]) => n.toLowerCase() === 'content-type').map(([, v]) => v);
  return values.length === 1 ? values[0]!.toLowerCase().replace(/\s/g, '') : undefined;
}

/**
 * Why this request must not succeed, or undefined when a 2xx would be legitimate. `credentials` and `input`
 * refusals happen before the request executes (and so may store nothing); `isolation` ones are the handler's 404.
 */
interface Refusal {
  kind: 'credentials' | 'input' | 'isolation';
  reason: string;
}

export function reasonToRefuse(op: Operation, c: FuzzCase, who: Who, resolve: Resolve): Refusal | undefined {
  const credentials = (reason: string): Refusal => ({ kind: 'credentials', reason });
  const input = (reason: string): Refusal => ({ kind: 'input', reason });
  const signed = op.params.some((p) => p.in === 'header' && p.name.endsWith('signature'));
  if (c.mustRefuse && (op.scope || signed)) return credentials(`credentials abuse (${c.what})`);
  const credentialLess = c.ownAuth ? !c.headers.some(([n]) => n === 'authorization' || n.endsWith('signature')) : who === 'none';
  if (credentialLess && (op.scope || signed)) return credentials('no credentials');
  if (!c.ownAuth && who === 'other' && signed) return credentials('signed with the wrong secret');
  if (!c.ownAuth && who === 'other' && op.scope && PLATFORM_SCOPES.has(op.scope)) return credentials('a tenant token on a platform route');
  if (!c.ownAuth && who === 'other' && op.scope && !c.pathMutated && pathParamNames(op.path).length > 0) {
    return { kind: 'isolation', reason: "the other tenant on the owner's object" };
  }
  if (c.foreignObject && who === 'owner' && op.scope && !PLATFORM_SCOPES.has(op.scope)) return { kind: 'isolation', reason: "the owner on the other tenant's object" };

  const ct = contentTypeOf(c);
  const parsesJson = c.category !== 'body-on-get' && c.body !== undefined && (ct === 'application/json' || ct === 'application/json;charset=utf-8');
  if (parsesJson && !signed) {
    let body: unknown;
    let parsed = false;
    try {
      body = JSON.parse(c.body!.toString('utf8'));
      parsed = true;
    } catch {
      // malformed: the API must refuse it, which the error model check covers
    }
    if (parsed && hasUnstorable(body)) return input('the body holds NUL or a lone surrogate');
    const schema = op.body?.schema;
    if (parsed && schema) {
      const validate = validator(bodyAjv, `body ${op.key}`, () => deref(schema, resolve));
      if (validate && !validate(body)) return input(`the body breaks the documented schema (${validate.errors?.[0]?.instancePath || '/'} ${validate.errors?.[0]?.message ?? ''})`);
    }
  }
  if (ct === 'application/x-www-form-urlencoded' && c.body && op.body?.contentType.includes('x-www-form-urlencoded')) {
    for (const pair of c.body.toString('latin1').split('&')) {
      const value = decode(pair);
      if (value !== null && value.includes('\u0000')) return input('a form field holds NUL');
    }
  }
  const [rawPath, rawQuery = ''] = [c.path, c.query];
  const pairs = rawQuery.split('&').filter(Boolean).map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
  });
  for (const param of op.params.filter((p) => p.in === 'query')) {
    const mine = pairs.filter(([k]) => decode(k!) === param.name);
    if (mine.length !== 1) continue;
    const value = decode(mine[0]![1]!);
    if (value === null) continue;
    if (value.includes('\u0000')) return input(`query ${param.name} holds NUL`);
    const validate = validator(paramAjv, `query ${op.key} ${param.name}`, () => ({ type: 'object', properties: { [param.name]: deref(param.schema, resolve) } }));
    if (validate && !validate({ [param.name]: value })) return input(`query ${param.name} breaks the documented schema`);
  }
  const templateSegments = op.path.split('/');
  const segments = rawPath.split('/');
  if (segments.length === templateSegments.length) {
    for (const [i, t] of templateSegments.entries()) {
      const name = /^\{(.+)\}$/.exec(t)?.[1];
      const param = name ? op.params.find((p) => p.in === 'path' && p.name === name) : undefined;
      if (!param) continue;
      const value = decode(segments[i]!);
      if (value === null || value === '') continue;
      if (value.includes('\u0000')) return input(`path {${name}} holds NUL`);
      const validate = validator(paramAjv, `path ${op.key} ${name}`, () => ({ type: 'object', properties: { [name!]: deref(param.schema, resolve) } }));
      if (validate && !validate({ [name!]: value })) return input(`path {${name}} breaks the documented schema`);
    }
  }
  return undefined;
}

/** What is wrong with the answer to one fuzz case; empty when nothing is. */
export function judge(op: Operation, c: FuzzCase, who: Who, res: WireResponse | undefined, resolve: Resolve): string[] {
  if (!res) return ['the connection closed without an HTTP answer'];
  const problems: string[] = [];
  if (c.answersRequestId && header(res, 'x-request-id') !== c.answersRequestId) {
    problems.push(`the answer to the request was lost: the server answered the bytes sent after it (X-Request-Id ${header(res, 'x-request-id')}, not ${c.answersRequestId})`);
  }
  if (res.status >= 500) problems.push(`answered ${res.status}`);
  if (res.status >= 200 && res.status < 300) {
    const refusal = reasonToRefuse(op, c, who, resolve);
    if (refusal) problems.push(`answered ${res.status} although it must be refused: ${refusal.reason}`);
  }
  if (res.status >= 300 && res.status < 400 && !op.responses.some((r) => r.startsWith('3'))) problems.push(`undocumented redirect ${res.status}`);
  if (res.status >= 400) {
    const requestId = header(res, 'x-request-id');
    const body = res.json as { error?: unknown; error_description?: unknown } | undefined;
    if (op.path === '/oauth/token' && typeof body?.error === 'string') {
      if (!RFC6749_ERRORS.has(body.error)) problems.push(`RFC 6749 error code unknown: ${body.error}`);
      if (body.error_description !== undefined && typeof body.error_description !== 'string') problems.push('error_description is not a string');
      if (!requestId) problems.push('no X-Request-Id header');
    } else {
      const e = body?.error as Record<string, unknown> | undefined;
      if (!e || typeof e !== 'object') problems.push(`not the error model: ${JSON.stringify(res.text.slice(0, 200))}`);
      else {
        for (const field of ['type', 'code', 'message', 'doc_url', 'request_id']) {
          if (typeof e[field] !== 'string' || e[field] === '') problems.push(`error.${field} missing`);
        }
        if (typeof e.doc_url === 'string' && !e.doc_url.endsWith(`/docs/errors#${String(e.code)}`)) problems.push(`doc_url ${e.doc_url} is not the entry of ${String(e.code)}`);
        if (e.param !== undefined && typeof e.param !== 'string') problems.push('error.param is not a string');
        if (requestId !== e.request_id) problems.push(`X-Request-Id ${JSON.stringify(requestId)} ≠ request_id ${JSON.stringify(e.request_id)}`);
      }
    }
  }
  return problems;
}

/** Tables a refused request wrote that it must not have; `allowed` are written on purpose (request log…). */
export function judgeWrites(op: Operation, c: FuzzCase, who: Who, res: WireResponse | undefined, changed: string[], allowed: ReadonlySet<string>, resolve: Resolve): string[] {
  if (res && res.status < 400) return [];
  let written = changed.filter((t) => !allowed.has(t));
  // The idempotency layer stores the answer of a request that began executing, refusals included (Stripe's rule),
  // so a retry with the key gets the same answer; a request refused before executing (credentials, input) stores
  // nothing.
  const idempotent = op.params.some((p) => p.in === 'header' && p.name === 'idempotency-key');
  const refusal = reasonToRefuse(op, c, who, resolve);
  const refusedBeforeExecution = !res || [401, 403, 413, 415, 431].includes(res.status) || (refusal !== undefined && refusal.kind !== 'isolation');
  if (idempotent && !refusedBeforeExecution) written = written.filter((t) => t !== 'public.idempotency_keys');
  return written.length > 0 ? [`a refused request wrote to ${written.join(', ')}`] : [];
}
