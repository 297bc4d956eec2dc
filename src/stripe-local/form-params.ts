import qs from 'qs';
import { invalidRequest, parameterMissing, parameterUnknown } from './stripe-errors.js';

/**
 * Stripe's v1 API takes form-encoded bodies with bracket notation (`metadata[k]=v`, `expand[0]=x`) and GET query
 * strings in the same encoding. Parameters are checked strictly against a declared shape, as Stripe does: an
 * unknown name is `parameter_unknown`, a missing required one `parameter_missing`.
 */
export type ParamSpec =
  | { kind: 'string'; required?: boolean; enum?: readonly string[]; maxLength?: number }
  | { kind: 'integer'; required?: boolean; min?: number }
  | { kind: 'boolean'; required?: boolean }
  | { kind: 'string_list'; required?: boolean; enum?: readonly string[] }
  | { kind: 'metadata' }
  | { kind: 'object'; required?: boolean; fields: ParamShape };

export type ParamShape = Readonly<Record<string, ParamSpec>>;
export type Params = Record<string, unknown>;

const QS_OPTIONS = { depth: 6, arrayLimit: 100, parameterLimit: 1000, allowPrototypes: false } as const;

export function parseFormEncoded(text: string): Params {
  return qs.parse(text, QS_OPTIONS) as Params;
}

const METADATA_MAX_KEYS = 50;
const METADATA_KEY_MAX = 40;
const METADATA_VALUE_MAX = 500;

function path(parent: string, key: string): string {
  return parent ? `${parent}[${key}]` : key;
}

function emptyValue(param: string): Error {
  return invalidRequest(
    `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
    { code: 'parameter_invalid_empty', param },
  );
}

function checkString(value: unknown, param: string, spec: { enum?: readonly string[]; maxLength?: number }): string {
  if (typeof value !== 'string') throw invalidRequest(`Invalid string: ${JSON.stringify(value)}`, { param });
  if (value === '') throw emptyValue(param);
  if (spec.enum && !spec.enum.includes(value)) {
    throw invalidRequest(`Invalid ${param}: must be one of ${spec.enum.join(', ')}`, { param });
  }
  if (spec.maxLength !== undefined && value.length > spec.maxLength) {
    throw invalidRequest(`Invalid ${param}: must be at most ${spec.maxLength} characters`, { param });
  }
  return value;
}

function checkValue(value: unknown, spec: ParamSpec, param: string): unknown {
  switch (spec.kind) {
    case 'string':
      return checkString(value, param, spec);
    case 'integer': {
      if (value === '') throw emptyValue(param);
      if (typeof value !== 'string' || !/^-?\d{1,15}$/.test(value)) {
        throw invalidRequest(`Invalid integer: ${typeof value === 'string' ? value : JSON.stringify(value)}`, {
          code: 'parameter_invalid_integer',
          param,
        });
      }
      const n = Number(value);
      if (spec.min !== undefined && n < spec.min) {
        throw invalidRequest(`This value must be greater than or equal to ${spec.min}.`, { param });
      }
      return n;
    }
    case 'boolean':
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw invalidRequest(`Invalid boolean: ${String(value)}`, { param });
    case 'string_list': {
      const items = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? Object.values(value) : [value];
      return items.map((item, i) => checkString(item, `${param}[${i}]`, spec));
    }
    case 'metadata':
      return checkMetadata(value, param);
    case 'object':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw invalidRequest(`Invalid object`, { param });
      }
      return checkShape(value as Params, spec.fields, param);
  }
}

function checkMetadata(value: unknown, param: string): Record<string, string> {
  // `metadata=` (empty) unsets every key: on a create that is no metadata at all.
  if (value === '') return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('Invalid object', { param });
  const out: Record<string, string> = {};
  const entries = Object.entries(value as Params);
  if (entries.length > METADATA_MAX_KEYS) {
    throw invalidRequest(`Invalid metadata: metadata can have up to ${METADATA_MAX_KEYS} keys.`, { param });
  }
  for (const [key, v] of entries) {
    const p = path(param, key);
    if (typeof v !== 'string') throw invalidRequest(`Invalid value for ${p}: metadata values must be strings.`, { param: p });
    if (key.length > METADATA_KEY_MAX) {
      throw invalidRequest(`Metadata keys can have up to ${METADATA_KEY_MAX} characters; "${key}" has ${key.length}.`, { param: p });
    }
    if (v.length > METADATA_VALUE_MAX) {
      throw invalidRequest(`Metadata values can have up to ${METADATA_VALUE_MAX} characters, but you passed in a value that is ${v.length} characters.`, { param: p });
    }
    // An empty value unsets the key.
    if (v !== '') out[key] = v;
  }
  return out;
}

function checkShape(params: Params, shape: ParamShape, parent: string): Params {
  for (const key of Object.keys(params)) {
    if (!Object.hasOwn(shape, key)) throw parameterUnknown(path(parent, key));
  }
  const out: Params = {};
  for (const [key, spec] of Object.entries(shape)) {
    const value = params[key];
    if (value === undefined) {
      if ('required' in spec && spec.required) throw parameterMissing(path(parent, key));
      continue;
    }
    out[key] = checkValue(value, spec, path(parent, key));
  }
  return out;
}

/** Checks parsed params against `shape`; integers and booleans come back as numbers and booleans. */
export function validateParams(params: Params, shape: ParamShape): Params {
  return checkShape(params, shape, '');
}

function maskDigits(value: unknown, keep: number): unknown {
  if (typeof value !== 'string') return '[masked]';
  const kept = keep > 0 && value.length > keep ? value.slice(-keep) : '';
  return `${'*'.repeat(Math.max(0, value.length - kept.length))}${kept}`;
}

function maskCard(card: unknown): void {
  if (!card || typeof card !== 'object') return;
  const c = card as Params;
  if ('number' in c) c.number = maskDigits(c.number, 4);
  if ('cvc' in c) c.cvc = maskDigits(c.cvc, 0);
}

/**
 * The params as they may be kept (request log): card and account numbers keep their last 4 digits, a CVC keeps
 * nothing (its last 4 digits would be all of it).
 */
export function maskSensitiveParams(params: Params): Params {
  const copy = structuredClone(params);
  // `card` at the top level is POST /v1/payment_methods; under payment_method_data it is a PaymentIntent create.
  maskCard(copy.card);
  const pmd = copy.payment_method_data;
  if (pmd && typeof pmd === 'object') {
    maskCard((pmd as Params).card);
    const bank = (pmd as Params).us_bank_account;
    if (bank && typeof bank === 'object' && 'account_number' in (bank as Params)) {
      (bank as Params).account_number = maskDigits((bank as Params).account_number, 4);
    }
  }
  return copy;
}
