/**
 * JSON.parse turns `20.00` and `2e3` into the integers 20 and 2000, so a schema's `integer` cannot tell them from
 * `20` and `2000`: `"amount": 20.00` would be charged as 20 minor units. The source text is the only place the
 * difference survives (a reviver cannot see it on Node 20), so the body's number tokens are read from the text.
 */

type JsonSchema = Record<string, unknown>;

/** Quick pre-check: a body with no digit followed by `.`, `e` or `E` anywhere has no such token (most bodies). */
const MAYBE_NON_INTEGER_TOKEN = /[0-9][.eE]/;

function skipString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i += 2; // backslash: the escaped character cannot end the string
    else if (c === 0x22) return i + 1;
    else i++;
  }
  return i;
}

interface Frame {
  array: boolean;
  key: string;
  index: number;
}

/**
 * The number tokens written with a fraction or an exponent, with their paths (`{ path: ['amount'], token: '20.00' }`).
 * `text` must already be valid JSON (JSON.parse accepted it), so the scan checks no syntax.
 */
export function nonIntegerNumberTokens(text: string): Array<{ path: string[]; token: string }> {
  if (!MAYBE_NON_INTEGER_TOKEN.test(text)) return [];
  const found: Array<{ path: string[]; token: string }> = [];
  const stack: Frame[] = [];
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) { // { [
      stack.push({ array: c === 0x5b, key: '', index: 0 });
      expectKey = c === 0x7b;
      i++;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      stack.pop();
      i++;
    } else if (c === 0x2c) { // ,
      const top = stack[stack.length - 1];
      if (top?.array) top.index++;
      else expectKey = true;
      i++;
    } else if (c === 0x22) { // "
      const end = skipString(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end - 1);
        const top = stack[stack.length - 1]; // always there: a key is only expected inside an object
        if (top) top.key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) { // - 0-9
      let end = i + 1;
      let integer = true;
      for (; end < text.length; end++) {
        const d = text.charCodeAt(end);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d !== 0x2e && d !== 0x65 && d !== 0x45 && d !== 0x2b && d !== 0x2d) break; // . e E + -
        integer = false;
      }
      if (!integer) found.push({ path: stack.map((f) => (f.array ? String(f.index) : f.key)), token: text.slice(i, end) });
      i = end;
    } else {
      i++; // whitespace, ':', true, false, null
    }
  }
  return found;
}

/** Shared schemas by `$id` (Fastify's `getSchemas()`), for a route schema that is a `$ref` to one. */
export type SharedSchemas = Readonly<Record<string, unknown>>;

const MAX_REF_DEPTH = 32;

/** `Name#/properties/x` → the shared schema `Name`, then the pointer. Undefined for what cannot be resolved. */
export function resolveRef(ref: string, shared: SharedSchemas): unknown {
  const hash = ref.indexOf('#');
  const id = hash < 0 ? ref : ref.slice(0, hash);
  let node: unknown = id ? shared[id] : undefined;
  for (const part of (hash < 0 ? '' : ref.slice(hash + 1)).split('/').filter(Boolean)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[decodeURIComponent(part.replace(/~1/g, '/').replace(/~0/g, '~'))];
  }
  return node;
}

/** The schemas that may apply at `path` under `schema` (several through unions). */
function schemasAt(schema: unknown, path: readonly string[], shared: SharedSchemas, depth = 0): JsonSchema[] {
  if (schema === null || typeof schema !== 'object' || depth > MAX_REF_DEPTH) return [];
  const s = schema as JsonSchema;
  if (typeof s.$ref === 'string') return schemasAt(resolveRef(s.$ref, shared), path, shared, depth + 1);
  const branches = [s.anyOf, s.oneOf, s.allOf].filter(Array.isArray).flat() as unknown[];
  if (branches.length > 0) return branches.flatMap((b) => schemasAt(b, path, shared, depth + 1));
  if (path.length === 0) return [s];
  const [head, ...rest] = path as [string, ...string[]];
  const next: unknown[] = [];
  const properties = s.properties as Record<string, unknown> | undefined;
  if (properties && Object.hasOwn(properties, head)) next.push(properties[head]);
  const patterns = s.patternProperties as Record<string, unknown> | undefined;
  if (patterns) for (const [pattern, sub] of Object.entries(patterns)) if (new RegExp(pattern, 'u').test(head)) next.push(sub);
  if (next.length === 0 && s.additionalProperties && typeof s.additionalProperties === 'object') next.push(s.additionalProperties);
  if (s.items && typeof s.items === 'object') next.push(s.items);
  return next.flatMap((sub) => schemasAt(sub, rest, shared, depth + 1));
}

function acceptsOnlyIntegers(schemas: readonly JsonSchema[]): boolean {
  const types = schemas.flatMap((s) => (Array.isArray(s.type) ? (s.type as string[]) : [s.type]));
  return types.includes('integer') && !types.includes('number');
}

/**
 * The first number token written as `20.00` or `2e3` where the body schema accepts only integers, with its path
 * and its text; undefined when there is none (the schema's own `integer` check refuses `20.5` either way).
 */
export function findNonIntegerToken(text: string, bodySchema: unknown, shared: SharedSchemas = {}): { path: string[]; token: string } | undefined {
  if (!bodySchema) return undefined;
  return nonIntegerNumberTokens(text).find(({ path }) => acceptsOnlyIntegers(schemasAt(bodySchema, path, shared)));
}
