import fc from 'fast-check';

/**
 * JSON as the fuzz test writes it. JS objects cannot hold what it needs to send (a key twice, an own `__proto__`,
 * a number token JSON.parse turns into Infinity), so bodies are built from this small tree and serialised here.
 */
export class Raw {
  constructor(readonly text: string) {}
}
export class Obj {
  constructor(readonly entries: Array<[string, Json]>) {}
}
export type Json = null | boolean | number | string | Raw | Obj | Json[];

export function toJsonText(value: Json): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Obj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value);
}

/** Deep trees as text: a recursive serialiser would overflow the test's own stack at 10,000 levels. */
export const deepArray = (depth: number): Raw => new Raw(`${'['.repeat(depth)}${']'.repeat(depth)}`);
export const deepObject = (depth: number): Raw => new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  propertyNames?: JsonSchema;
  minProperties?: number;
  maxProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
}

export type Resolve = (schema: JsonSchema) => JsonSchema;

export function resolver(components: Record<string, JsonSchema> | undefined): Resolve {
  return (schema) => {
    let s = schema;
    for (let i = 0; s.$ref && i < 10; i++) {
      const name = s.$ref.split('/').pop() ?? '';
      s = components?.[name] ?? {};
    }
    return s;
  };
}

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null') ?? 'null';
  if (schema.type) return schema.type;
  if (schema.properties) return 'object';
  return undefined;
}

const printable = (minLength: number, maxLength: number) => fc.string({ unit: 'grapheme-ascii', minLength, maxLength });

function stringValue(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 24, Math.max(min, 24));
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
  }
  if (schema.format === 'date-time') return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'uri') return fc.constant('https://example.com/hooks');
  return printable(min, max);
}

/** Values a schema accepts: the baseline a fuzz case starts from, so the one mutation is what gets refused. */
export function validValue(schema: JsonSchema, resolve: Resolve, depth = 0): fc.Arbitrary<Json> {
  const s = resolve(schema);
  const branches = s.anyOf ?? s.oneOf;
  if (branches && branches.length > 0) return fc.oneof(...branches.map((b) => validValue(b, resolve, depth + 1)));
  if (s.allOf && s.allOf.length > 0) return validValue(s.allOf[0]!, resolve, depth + 1);
  if (s.enum && s.enum.length > 0) return fc.constantFrom(...(s.enum as Json[]));
  if (s.const !== undefined) return fc.constant(s.const as Json);
  switch (typeOf(s)) {
    case 'object': {
      const props = Object.entries(s.properties ?? {});
      const required = new Set(s.required ?? []);
      if (props.length === 0) {
        const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
        if (!extra || depth > 3) return fc.constant(new Obj([]));
        const key = s.propertyNames ? stringValue(resolve(s.propertyNames)) : fc.stringMatching(/^[a-z][a-z0-9_]{0,19}$/);
        return fc.uniqueArray(fc.tuple(key, validValue(extra, resolve, depth + 1)), {
          minLength: Math.max(s.minProperties ?? 0, 0),
          maxLength: Math.min(s.maxProperties ?? 3, 3),
          selector: ([k]) => k,
        }).map((entries) => new Obj(entries));
      }
      const entryArbs = props.map(([name, p]) => {
        const value = validValue(p, resolve, depth + 1);
        return required.has(name)
          ? value.map((v): [string, Json] | undefined => [name, v])
          : fc.option(value.map((v): [string, Json] => [name, v]), { nil: undefined });
      });
      return fc.tuple(...entryArbs)
        .map((entries) => entries.filter((e): e is [string, Json] => e !== undefined))
        .filter((entries) => entries.length >= (s.minProperties ?? 0))
        .map((entries) => new Obj(entries));
    }
    case 'array': {
      const item = s.items ? validValue(s.items, resolve, depth + 1) : fc.constant<Json>('x');
      const constraints = { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 3, 3) };
      return s.uniqueItems ? fc.uniqueArray(item, { ...constraints, selector: (v) => toJsonText(v) }) : fc.array(item, constraints);
    }
    case 'string':
      return stringValue(s);
    case 'integer': {
      const min = Math.max(s.minimum ?? -1_000_000, -1_000_000);
      return fc.integer({ min, max: Math.max(min, Math.min(s.maximum ?? 1_000_000, 1_000_000)) });
    }
    case 'number':
      return fc.double({ min: Math.max(s.minimum ?? -1e6, -1e6), max: Math.min(s.maximum ?? 1e6, 1e6), noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.constant('x');
  }
}

/** Where a body can be changed: every property path the schema names (through arrays), and which are objects. */
export interface SchemaSlot {
  path: string[];
  schema: JsonSchema;
}

export function schemaSlots(schema: JsonSchema, resolve: Resolve, path: string[] = [], depth = 0): SchemaSlot[] {
  const s = resolve(schema);
  const out: SchemaSlot[] = [{ path, schema: s }];
  if (depth > 4) return out;
  for (const branch of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) {
    for (const slot of schemaSlots(branch, resolve, path, depth + 1).slice(1)) out.push(slot);
  }
  for (const [name, p] of Object.entries(s.properties ?? {})) out.push(...schemaSlots(p, resolve, [...path, name], depth + 1));
  if (s.items) out.push(...schemaSlots(s.items, resolve, [...path, '0'], depth + 1));
  return out;
}

/** A copy of `root` with `value` at `path` (objects created on the way; array indexes are decimal strings). */
export function setAt(root: Json, path: string[], value: Json): Json {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(root) && /^\d+$/.test(head)) {
    const copy = [...root];
    copy[Number(head)] = setAt(copy[Number(head)] ?? new Obj([]), rest, value);
    return copy;
  }
  const entries = root instanceof Obj ? [...root.entries] : [];
  const i = entries.findIndex(([k]) => k === head);
  const child = setAt(i >= 0 ? entries[i]![1] : /^\d+$/.test(rest[0] ?? '') ? [] : new Obj([]), rest, value);
  if (i >= 0) entries[i] = [head, child];
  else entries.push([head, child]);
  return new Obj(entries);
}

/** Applies `change` to the object at `path` (creating it when missing). */
export function editObjectAt(root: Json, path: string[], change: (entries: Array<[string, Json]>) => Array<[string, Json]>): Json {
  let target: Json = root;
  for (const step of path) {
    if (Array.isArray(target)) target = target[Number(step)] ?? null;
    else if (target instanceof Obj) target = target.entries.find(([k]) => k === step)?.[1] ?? null;
    else target = null;
  }
  const entries = target instanceof Obj ? target.entries : [];
  return setAt(root, path, new Obj(change([...entries])));
}
