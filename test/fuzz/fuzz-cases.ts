import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import {
  UNSTORABLE, badJson, badKey, contentTypes, malformedPercent, percentEncode, rawBodies, rawUtf8, stringValue, wireValue,
} from './abuse-values.js';
import { Obj, editObjectAt, schemaSlots, setAt, toJsonText, validValue, type Json, type JsonSchema, type Resolve } from './json-values.js';
import { pathParamNames, resourceOf, type Operation } from './openapi-model.js';
import { headerAbuse, type HeaderContext } from './header-abuse.js';

/** One malformed request for one operation, before the identity's credentials are added. */
export interface FuzzCase {
  category: string;
  /** what was abused, short, for failure messages */
  what: string;
  path: string;
  /** a path parameter no longer names the fixture object */
  pathMutated: boolean;
  /** a path parameter names the other tenant's object */
  foreignObject: boolean;
  query: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** false: the case frames the body itself (no Content-Length added) */
  frame?: boolean;
  /** the case brings its own Authorization / signature headers */
  ownAuth: boolean;
  /** its credentials are ones no route may accept */
  mustRefuse?: boolean;
  /** the answer must carry this request id (bytes were sent after the request) */
  answersRequestId?: string;
}

export interface FuzzEnv extends HeaderContext {
  resolve: Resolve;
  /** an object of the owning tenant (or a platform fixture) per resource name: `payments` → `pay_…` */
  ownerIds: Record<string, string>;
  /** the other tenant's objects, per resource name */
  foreignIds: Record<string, string>;
}

export type BodyKind = 'json' | 'form' | 'none';

export function bodyKind(op: Operation): BodyKind {
  if (op.body?.contentType.includes('x-www-form-urlencoded')) return 'form';
  if (op.body || op.method === 'POST' || op.method === 'PUT' || op.method === 'PATCH') return 'json';
  return 'none';
}

/** Bodies the document does not describe (processor notifications document theirs in prose only). */
function undocumentedBody(op: Operation): Json {
  if (!op.path.startsWith('/v1/processor_notifications')) return new Obj([]);
  return new Obj([
    ['id', `ntf_fuzz_${randomUUID()}`], ['type', 'bank_debit.settled'], ['created', 1_700_000_000],
    ['data', new Obj([['debit_id', 'dbt_fuzz'], ['idempotency_key', 'att_fuzz'], ['status', 'settled'], ['settled_at', '2025-01-01T00:00:00Z']])],
  ]);
}

interface Baseline {
  pathValues: Record<string, string>;
  query: Array<[string, string]>;
  json: Json | undefined;
  form: Array<[string, string]>;
}

function pathOf(op: Operation, values: Record<string, string>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'missing');
}

function queryText(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => (v === '' && k.endsWith('=') ? k : `${k}=${v}`)).join('&');
}

function baseline(op: Operation, env: FuzzEnv): fc.Arbitrary<Baseline> {
  const pathValues = Object.fromEntries(pathParamNames(op.path).map((name) => {
    const resource = resourceOf(op.path, name);
    const id = env.ownerIds[name === 'client_id' ? 'clients' : resource] ?? (resource === 'processor_notifications' ? 'sandbox' : 'x_fuzz');
    return [name, id];
  }));
  const required = op.params.filter((p) => p.in === 'query' && p.required);
  const query = fc.tuple(...required.map((p) => validValue(p.schema, env.resolve).map((v): [string, string] => [p.name, percentEncode(String(v))])));
  const kind = bodyKind(op);
  const json: fc.Arbitrary<Json | undefined> = kind === 'json'
    ? (op.body?.schema ? validValue(op.body.schema, env.resolve) : fc.constant(undocumentedBody(op)))
    : fc.constant(undefined);
  const form = fc.constant<Array<[string, string]>>(kind === 'form' ? [['grant_type', 'client_credentials']] : []);
  return fc.record({ pathValues: fc.constant(pathValues), query, json, form });
}

function idempotencyHeader(op: Operation): Array<[string, string]> {
  return op.params.some((p) => p.in === 'header' && p.name === 'idempotency-key') ? [['idempotency-key', randomUUID()]] : [];
}

function assemble(op: Operation, base: Baseline, category: string, what: string, over: Partial<FuzzCase> & { json?: Json; form?: string }): FuzzCase {
  const kind = bodyKind(op);
  let body: Buffer | undefined;
  let contentType: string | undefined;
  if (over.body !== undefined) body = over.body;
  else if (kind === 'json' && (over.json ?? base.json) !== undefined) {
    body = Buffer.from(toJsonText((over.json ?? base.json)!), 'utf8');
    contentType = 'application/json';
  } else if (kind === 'form') {
    body = Buffer.from(over.form ?? queryText(base.form), 'latin1');
    contentType = 'application/x-www-form-urlencoded';
  }
  const headers: Array<[string, string]> = [
    ...(contentType && !over.headers?.some(([n]) => n.toLowerCase() === 'content-type') ? [['content-type', contentType] as [string, string]] : []),
    ...(over.headers?.some(([n]) => n === 'idempotency-key') ? [] : idempotencyHeader(op)),
    ...(over.headers ?? []),
  ];
  return {
    category,
    what,
    path: over.path ?? pathOf(op, base.pathValues),
    pathMutated: over.pathMutated ?? false,
    foreignObject: over.foreignObject ?? false,
    query: over.query ?? queryText(base.query),
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(over.frame !== undefined ? { frame: over.frame } : {}),
    ownAuth: over.ownAuth ?? false,
    ...(over.mustRefuse ? { mustRefuse: true } : {}),
    ...(over.answersRequestId ? { answersRequestId: over.answersRequestId } : {}),
  };
}

const unstorable = fc.tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 6 }), fc.constantFrom(...UNSTORABLE), fc.string({ unit: 'grapheme-ascii', maxLength: 6 }))
  .map(([a, c, b]) => `${a}${c}${b}`);

const short = (s: string, n = 60) => (s.length > n ? `${JSON.stringify(s.slice(0, n))}…(${s.length} chars)` : JSON.stringify(s));

/** Every kind of abuse that applies to `op`, each an arbitrary of cases. */
export function caseArbitraries(op: Operation, env: FuzzEnv): Array<{ category: string; arb: fc.Arbitrary<FuzzCase> }> {
  const base = baseline(op, env);
  const kind = bodyKind(op);
  const out: Array<{ category: string; arb: fc.Arbitrary<FuzzCase> }> = [];
  const add = (category: string, arb: fc.Arbitrary<FuzzCase>) => out.push({ category, arb });
  const schema: JsonSchema | undefined = kind === 'json' ? op.body?.schema : undefined;

  if (kind === 'json') {
    const slots = schema ? schemaSlots(schema, env.resolve) : [{ path: [], schema: {} }];
    const valueSlots = slots.filter((s) => s.path.length > 0);
    const objectSlots = slots.filter((s) => s.schema.type === 'object' || s.schema.properties || s.path.length === 0);
    if (valueSlots.length > 0) {
      add('body-value', fc.tuple(base, fc.constantFrom(...valueSlots), badJson).map(([b, slot, value]) =>
        assemble(op, b, 'body-value', `${slot.path.join('.')} = ${short(toJsonText(value))}`, { json: setAt(b.json ?? new Obj([]), slot.path, value) })));
    }
    add('body-key', fc.tuple(base, fc.constantFrom(...objectSlots), badKey, fc.oneof(fc.constant<Json>('v'), badJson)).map(([b, slot, key, value]) =>
      assemble(op, b, 'body-key', `key ${short(key)} at ${slot.path.join('.') || '(root)'}`, {
        json: editObjectAt(b.json ?? new Obj([]), slot.path, (entries) => [...entries, [key, value]]),
      })));
    add('body-duplicate-key', fc.tuple(base, badJson, fc.boolean()).map(([b, value, badFirst]) => {
      const entries = b.json instanceof Obj ? b.json.entries : [];
      const [name, good] = entries[0] ?? ['amount', 100];
      const rest = entries.slice(1);
      const pair: Array<[string, Json]> = badFirst ? [[name, value], [name, good]] : [[name, good], [name, value]];
      return assemble(op, b, 'body-duplicate-key', `${name} twice (${badFirst ? 'bad first' : 'bad last'})`, { json: new Obj([...pair, ...rest]) });
    }));
    // NUL and lone surrogates get a category of their own: every operation must refuse them, wherever they are
    const stringSlots = valueSlots.filter((slot) => slot.schema.type === 'string' || slot.schema.anyOf || slot.schema.enum);
    add('body-unstorable', fc.tuple(base, fc.constantFrom(...(stringSlots.length > 0 ? stringSlots : objectSlots)), fc.constantFrom(...objectSlots), unstorable, fc.nat(2)).map(([b, slot, objectSlot, text, where]) => {
      const root = b.json ?? new Obj([]);
      if (where === 0 && slot.path.length > 0) return assemble(op, b, 'body-unstorable', `${slot.path.join('.')} = ${JSON.stringify(text)}`, { json: setAt(root, slot.path, text) });
      const entry: [string, Json] = where === 1 ? [text, 'v'] : ['fuzz_key', text];
      return assemble(op, b, 'body-unstorable', `${JSON.stringify(entry[0])}: ${JSON.stringify(entry[1])} at ${objectSlot.path.join('.') || '(root)'}`, {
        json: editObjectAt(root, objectSlot.path, (entries) => [...entries, entry]),
      });
    }));
    add('body-raw', fc.tuple(base, fc.constantFrom(...rawBodies.keys())).map(([b, i]) =>
      assemble(op, b, 'body-raw', `raw body #${i} ${short(rawBodies[i]!.toString('latin1'), 40)}`, { body: rawBodies[i]!, headers: [['content-type', 'application/json']] })));
    add('content-type', fc.tuple(base, fc.option(fc.constantFrom(...contentTypes), { nil: undefined }), fc.boolean()).map(([b, ct, utf16]) => {
      const text = toJsonText(b.json ?? new Obj([]));
      const body = utf16 ? Buffer.from(`\ufeff${text}`, 'utf16le') : Buffer.from(text, 'utf8');
      return assemble(op, b, 'content-type', `content-type ${ct === undefined ? '(none)' : short(ct, 40)}${utf16 ? ', UTF-16 body' : ''}`, {
        body, headers: ct === undefined ? [] : [['content-type', ct]],
      });
    }));
  }
  if (kind === 'form') {
    const formValue = fc.oneof(stringValue.map(percentEncode), wireValue);
    const formField = fc.constantFrom('grant_type', 'scope', 'client_id', 'client_secret', '__proto__', '__proto__[polluted]', 'constructor[prototype][polluted]', 'a[b][c]', '', percentEncode('\u0000'));
    add('form', fc.tuple(base, formField, formValue, fc.boolean()).map(([b, key, value, dup]) =>
      assemble(op, b, 'form', `${short(key)}=${short(value, 40)}${dup ? ' (twice)' : ''}`, {
        form: [...b.form.map(([k, v]) => `${k}=${v}`), `${key}=${value}`, ...(dup ? [`${key}=x`] : [])].join('&'),
      })));
    add('form-raw', fc.tuple(base, fc.constantFrom(
      '', '&&&', '=&=', 'grant_type', '%', 'grant_type=%zz', `client_id=${'a'.repeat(5000)}`, '{"grant_type":"client_credentials"}',
      rawUtf8('scope=ü'), 'scope=%ED%A0%80', 'grant_type=client_credentials\u0000', 'grant_type=client_credentials&grant_type=client_credentials',
    ), fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'application/x-www-form-urlencoded; charset=utf-16', '')).map(([b, text, ct]) =>
      assemble(op, b, 'form-raw', `form ${short(text, 40)} as ${short(ct)}`, { form: text, headers: ct ? [['content-type', ct]] : [] })));
  }
  if (kind === 'none') {
    add('body-on-get', fc.tuple(base, fc.constantFrom(...rawBodies.keys()), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', '')).map(([b, i, ct]) =>
      assemble(op, b, 'body-on-get', `${op.method} with body #${i} as ${short(ct)}`, { body: rawBodies[i]!, headers: ct ? [['content-type', ct]] : [] })));
  }

  const declared = op.params.filter((p) => p.in === 'query').map((p) => p.name);
  if (declared.length > 0) {
    add('query-unstorable', fc.tuple(base, fc.constantFrom(...declared), unstorable).map(([b, key, text]) =>
      assemble(op, b, 'query-unstorable', `?${key}=${JSON.stringify(text)}`, {
        query: queryText([...b.query.filter(([k]) => k !== percentEncode(key)), [percentEncode(key), percentEncode(text)]]),
      })));
  }
  const queryKey = fc.oneof(
    ...(declared.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...declared).map(percentEncode) }] : []),
    { weight: 1, arbitrary: fc.constantFrom('created[gte][x]', 'created', 'limit[]', '__proto__[polluted]', 'constructor[prototype][polluted]', 'a[b][c][d][e][f][g][h][i][j][k]', 'tenant_id', percentEncode('\u0000'), '%zz') },
  );
  add('query', fc.tuple(base, queryKey, wireValue, fc.boolean()).map(([b, key, value, repeat]) => {
    const rest = b.query.filter(([k]) => k !== key);
    return assemble(op, b, 'query', `?${short(key, 30)}=${short(value, 40)}${repeat ? ' (twice)' : ''}`, {
      query: queryText([...rest, [key, value], ...(repeat ? [[key, '1'] as [string, string]] : [])]),
    });
  }));
  add('query-raw', fc.tuple(base, fc.constantFrom(
    ...malformedPercent, '&&&', '=', '=%00', 'limit', `${'a=1&'.repeat(2000)}a=1`, `q=${'x'.repeat(20_000)}`, `q=${'x'.repeat(100_000)}`,
    '?', '#frag', 'limit=1;limit=2', rawUtf8('é=é'),
  )).map(([b, text]) => assemble(op, b, 'query-raw', `query ${short(text, 40)}`, { query: text })));

  const params = pathParamNames(op.path);
  if (params.length > 0) {
    const foreign = params.flatMap((name) => {
      const id = env.foreignIds[name === 'client_id' ? 'clients' : resourceOf(op.path, name)];
      return id ? [[name, id] as [string, string]] : [];
    });
    const pathValue = fc.oneof(
      wireValue,
      fc.constantFrom('%00', 'pay_%00', '..', '%2e%2e', '%2F', 'a%2Fb', '%20', '-1', '0', '__proto__', 'constructor', 'toString', 'x'.repeat(10_000), 'x'.repeat(65)),
      fc.constantFrom(...Object.values(env.ownerIds)).map((id) => id.toUpperCase()),
      fc.constantFrom(...Object.values(env.ownerIds)).map((id) => `${id}%00`),
    );
    add('path-unstorable', fc.tuple(base, fc.constantFrom(...params), unstorable, fc.boolean()).map(([b, name, text, suffix]) => {
      const value = suffix ? `${b.pathValues[name]}${percentEncode(text)}` : percentEncode(text);
      return assemble(op, b, 'path-unstorable', `{${name}} = ${value}`, { path: pathOf(op, { ...b.pathValues, [name]: value }), pathMutated: true });
    }));
    add('path', fc.tuple(base, fc.constantFrom(...params), pathValue).map(([b, name, value]) =>
      assemble(op, b, 'path', `{${name}} = ${short(value, 50)}`, { path: pathOf(op, { ...b.pathValues, [name]: value }), pathMutated: true })));
    if (foreign.length > 0) {
      add('path-foreign', fc.tuple(base, fc.constantFrom(...foreign)).map(([b, [name, id]]) =>
        assemble(op, b, 'path-foreign', `{${name}} = the other tenant's ${id}`, { path: pathOf(op, { ...b.pathValues, [name]: id }), pathMutated: true, foreignObject: true })));
    }
  }

  const abuse = headerAbuse(op, env);
  add('headers', fc.tuple(base, abuse.headers).map(([b, { what, ...over }]) => assemble(op, b, 'headers', what, over)));
  add('framing', fc.tuple(base, abuse.framing).map(([b, { what, ...over }]) => assemble(op, b, 'framing', what, over)));
  return out;
}
