import type { ErrorCode } from '../errors.js';

/** The parts of an Ajv error this module reads. */
export interface AjvLikeError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  message?: string;
  params: Record<string, unknown>;
  /** set when the error is about an object's key (propertyNames), not its value */
  propertyName?: string;
}

type JsonSchema = Record<string, unknown>;

export interface DescribedError {
  code: ErrorCode;
  message: string;
  param?: string;
}

const MAX_KEY_SHOWN = 64;
const MAX_ALLOWED_SHOWN = 20;

/** `/payment_method/card/number` → `payment_method[card][number]` (the form payment developers know). */
export function toParamName(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra) parts.push(extra);
  return bracketPath(parts);
}

/** `['payment_method', 'card', 'number']` → `payment_method[card][number]`. */
export function bracketPath(parts: readonly string[]): string {
  if (parts.length === 0) return '';
  return parts[0] + parts.slice(1).map((p) => `[${p}]`).join('');
}

/**
 * The schema object an error's keyword sits in, found by walking its `schemaPath` (`#/properties/amount/minimum`
 * → the `amount` schema) from the route's schema for that part of the request. Undefined when the path leaves
 * the document (a `$ref` into a shared schema); callers then fall back to the error's own params.
 */
function schemaAt(root: unknown, schemaPath: string): JsonSchema | undefined {
  const parts = schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean).slice(0, -1);
  let node: unknown = root;
  for (const raw of parts) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[decodeURIComponent(raw.replace(/~1/g, '/').replace(/~0/g, '~'))];
  }
  return node !== null && typeof node === 'object' ? (node as JsonSchema) : undefined;
}

/** The values a closed set allows: `enum`, `const`, or a union (`anyOf`) of those. Undefined when not a closed set. */
function allowedValues(schema: JsonSchema | undefined): unknown[] | undefined {
  if (!schema) return undefined;
  if (Array.isArray(schema.enum)) return schema.enum;
  if ('const' in schema) return [schema.const];
  if (Array.isArray(schema.anyOf)) {
    const values: unknown[] = [];
    for (const branch of schema.anyOf as JsonSchema[]) {
      const inner = allowedValues(branch);
      if (!inner) return undefined;
      values.push(...inner);
    }
    return values;
  }
  return undefined;
}

function showValues(values: readonly unknown[]): string {
  const shown = values.slice(0, MAX_ALLOWED_SHOWN).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  return values.length > MAX_ALLOWED_SHOWN ? `${shown}, …` : shown;
}

const TYPE_CODES: Record<string, { code: ErrorCode; noun: string }> = {
  integer: { code: 'parameter_invalid_integer', noun: 'an integer (a JSON number without a fraction, e.g. 2000)' },
  string: { code: 'parameter_invalid_string', noun: 'a string' },
  boolean: { code: 'parameter_invalid_boolean', noun: 'a boolean (true or false)' },
  object: { code: 'parameter_invalid_object', noun: 'a JSON object' },
  array: { code: 'parameter_invalid_array', noun: 'a JSON array' },
};

/** The JSON types a schema (or a union of schemas) accepts, `null` last. */
function typesOf(schema: JsonSchema | undefined): string[] {
  if (!schema) return [];
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type as string[];
  if (Array.isArray(schema.anyOf)) return [...new Set((schema.anyOf as JsonSchema[]).flatMap(typesOf))];
  return [];
}

function typeError(types: readonly string[], param: string): DescribedError {
  const main = types.find((t) => t !== 'null');
  const spec = main ? TYPE_CODES[main] : undefined;
  if (!spec) return { code: 'invalid_request', message: `Invalid ${param}: it has the wrong type; see the API reference.`, param };
  const orNull = types.includes('null') ? ' or null' : '';
  if (!param) return { code: spec.code, message: `The request body must be ${spec.noun}.` };
  return { code: spec.code, message: `Invalid ${param}: it must be ${spec.noun}${orNull}.`, param };
}

function rangeError(param: string, schema: JsonSchema | undefined, keyword: string, limit: unknown): DescribedError {
  const min = schema?.minimum ?? schema?.exclusiveMinimum;
  const max = schema?.maximum ?? schema?.exclusiveMaximum;
  const leaf = param.split('[').pop()?.replace(/]$/, '');
  const below = keyword === 'minimum' || keyword === 'exclusiveMinimum';
  if (leaf === 'amount') {
    return below
      ? { code: 'amount_too_small', message: `Invalid ${param}: it must be at least ${String(min ?? limit)} minor unit (e.g. 2000 for 20.00 USD).`, param }
      : { code: 'amount_too_large', message: `Invalid ${param}: it must be at most ${String(max ?? limit)} minor units.`, param };
  }
  const bounds = min !== undefined && max !== undefined ? `from ${String(min)} to ${String(max)}` : below ? `at least ${String(limit)}` : `at most ${String(limit)}`;
  return { code: 'parameter_out_of_range', message: `Invalid ${param}: it must be ${bounds}.`, param };
}

function formatError(param: string, schema: JsonSchema | undefined, keyword: string, params: Record<string, unknown>): DescribedError {
  const description = typeof schema?.description === 'string' ? schema.description.replace(/\.$/, '') : undefined;
  if (keyword === 'format') {
    const format = String(params.format);
    const example = format === 'date-time' ? ' (RFC 3339, e.g. 2026-01-31T12:00:00Z)' : format === 'email' ? ' (e.g. name@example.com)' : '';
    return { code: 'parameter_invalid_format', message: `Invalid ${param}: it must be a valid ${format}${example}.`, param };
  }
  const hint = description ? `: ${description}` : ` (the pattern ${String(params.pattern)})`;
  return { code: 'parameter_invalid_format', message: `Invalid ${param}: it does not have the expected format${hint}.`, param };
}

function sizeError(param: string, keyword: string, limit: unknown): DescribedError {
  const unit = keyword.endsWith('Length') ? 'characters' : keyword.endsWith('Items') ? 'items' : 'keys';
  if (keyword.startsWith('max')) {
    return { code: 'parameter_too_long', message: `Invalid ${param}: it must have at most ${String(limit)} ${unit}.`, param };
  }
  if (keyword === 'minProperties') {
    return param
      ? { code: 'parameter_too_short', message: `Invalid ${param}: it must have at least ${String(limit)} ${unit}.`, param }
      : { code: 'parameter_missing', message: `Send at least ${String(limit)} parameter${limit === 1 ? '' : 's'}: an empty body changes nothing.` };
  }
  const what = limit === 1 ? 'must not be empty' : `must have at least ${String(limit)} ${unit}`;
  return { code: 'parameter_too_short', message: `Invalid ${param}: it ${what}.`, param };
}

/** One Ajv error about a value (not a key) → a code, a message that says how to fix it, and the param. */
function describeValue(first: AjvLikeError, errors: readonly AjvLikeError[], root: unknown, context: string): DescribedError {
  const param = toParamName(first.instancePath);
  // A union's branches each fail first; the `anyOf` error that follows them says what the union allows.
  const union = errors.find((e) => e.keyword === 'anyOf' && first.instancePath.startsWith(e.instancePath));
  if (union) {
    const unionParam = toParamName(union.instancePath);
    const unionSchema = schemaAt(root, union.schemaPath);
    const values = allowedValues(unionSchema);
    if (values) return { code: 'parameter_invalid_enum', message: `Invalid ${unionParam}: it must be one of: ${showValues(values)}.`, param: unionParam };
    if (union.instancePath === first.instancePath) return typeError(typesOf(unionSchema), unionParam);
  }
  const schema = schemaAt(root, first.schemaPath);
  switch (first.keyword) {
    case 'type':
      return typeError(typesOf(schema).length > 0 ? typesOf(schema) : String(first.params.type).split(','), param);
    case 'enum':
    case 'const': {
      const values = (first.params.allowedValues as unknown[] | undefined) ?? [first.params.allowedValue];
      return { code: 'parameter_invalid_enum', message: `Invalid ${param}: it must be one of: ${showValues(values)}.`, param };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return rangeError(param, schema, first.keyword, first.params.limit);
    case 'pattern':
    case 'format':
      return formatError(param, schema, first.keyword, first.params);
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      return sizeError(param, first.keyword, first.params.limit);
    case 'uniqueItems':
      return { code: 'parameter_invalid_array', message: `Invalid ${param}: list each value once (items ${String(first.params.j)} and ${String(first.params.i)} are the same).`, param };
    default:
      if (!param) return { code: 'invalid_request', message: `Invalid ${context}: ${first.message ?? 'invalid value'}.` };
      return { code: 'invalid_request', message: `Invalid ${param}: ${first.message ?? 'invalid value'}.`, param };
  }
}

/**
 * Fastify's validation error → the precise code. `errors` is Ajv's list (allErrors is off: the first failure,
 * preceded by a union's failed branches); `root` is the route's schema for the part that failed.
 */
export function describeValidation(errors: readonly AjvLikeError[] | undefined, root: unknown, context = 'request'): DescribedError {
  const first = errors?.[0];
  if (!first || !errors) return { code: 'invalid_request', message: 'The request is invalid.' };
  if (typeof first.propertyName === 'string') {
    const key = first.propertyName.length > MAX_KEY_SHOWN ? `${first.propertyName.slice(0, MAX_KEY_SHOWN)}…` : first.propertyName;
    const owner = toParamName(first.instancePath);
    // built by hand: bracketPath drops nothing, but an empty key is exactly what is being named
    const param = owner ? `${owner}[${key}]` : key;
    const described = describeValue({ ...first, instancePath: '' }, [first], root, context);
    const rule = described.message.replace(/^Invalid [^:]*: it /, '');
    return { code: described.code, message: `Invalid key ${param}: a key ${rule}`, param };
  }
  if (first.keyword === 'required') {
    const param = toParamName(first.instancePath, String(first.params.missingProperty));
    const where = context === 'headers' ? 'header' : 'parameter';
    return { code: 'parameter_missing', message: `Missing required ${where}: ${param}. Send it (see the API reference for its format).`, param };
  }
  if (first.keyword === 'additionalProperties') {
    const param = toParamName(first.instancePath, String(first.params.additionalProperty));
    return { code: 'parameter_unknown', message: `Unknown parameter: ${param}. Remove it, or check its spelling against the API reference.`, param };
  }
  return describeValue(first, errors, root, context);
}
