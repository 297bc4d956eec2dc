/**
 * The OpenAPI document as a product: what `npm run openapi:export` writes (no database) is checked for operationIds,
 * error responses, enums that equal the code's sets and examples that validate against their schemas; then, against
 * a real platform, every operation the document marks as requiring Idempotency-Key refuses a request without one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ERROR_CODES } from '../../src/platform/errors.js';
import { SUPPORTED_CURRENCIES } from '../../src/platform/money.js';
import { PAYMENT_STATUSES } from '../../src/modules/payments/payment-state.js';
import { REFUND_STATUSES } from '../../src/modules/payments/refund-state.js';
import { PAYMENT_FAILURE_CODES, REFUND_FAILURE_CODES } from '../../src/modules/payments/failure-codes.js';
import { EVENT_TYPES } from '../../src/modules/events/event-types.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';

type Json = Record<string, any>;
interface Operation { method: string; path: string; op: Json }

let doc: Json;
let platform: TestPlatform | undefined;
let tenant: TestTenant;

before(async () => {
  // the real command, as CI and the SDK's generator run it
  const dir = await mkdtemp(path.join(tmpdir(), 'openapi-test-'));
  try {
    const out = path.join(dir, 'openapi.json');
    await promisify(execFile)('npx', ['tsx', 'scripts/openapi-export.ts', '--out', out], { env: { ...process.env, NODE_OPTIONS: '' } });
    doc = JSON.parse(await readFile(out, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
after(async () => {
  await platform?.close();
});

function operations(): Operation[] {
  return Object.entries(doc.paths as Json).flatMap(([p, item]) => Object.entries(item as Json).map(([method, op]) => ({ method, path: p, op })));
}
const deref = (x: Json): Json => (typeof x.$ref === 'string' ? x.$ref.split('/').slice(1).reduce((o: Json, k: string) => o[k], doc) : x);
// not for integrators: platform staff, and processors calling in
const isAdmin = (o: Operation) => /^\/v1\/(admin|support|staff|processor_notifications)\//.test(o.path);
const enumOf = (schema: Json): unknown[] => schema.enum as unknown[];

test('every operation has a unique lowerCamelCase operationId, a summary and a declared tag', () => {
  const ids = operations().map((o) => o.op.operationId);
  assert.equal(ids.length, 61 - 2, 'operations counted (hidden routes excluded)');
  assert.deepEqual(ids.filter((id) => typeof id !== 'string' || !/^[a-z][A-Za-z]+$/.test(id)), []);
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  const tags = new Set((doc.tags as Json[]).map((t) => t.name));
  for (const { method, path: p, op } of operations()) {
    assert.ok(op.summary, `${method} ${p} has a summary`);
    assert.ok(op.tags?.length === 1 && tags.has(op.tags[0]), `${method} ${p} has one declared tag (${op.tags})`);
    assert.ok(Array.isArray(op.security), `${method} ${p} states its security`);
  }
  const byId = Object.fromEntries(operations().map((o) => [o.op.operationId, `${o.method.toUpperCase()} ${o.path}`]));
  assert.equal(byId.createPayment, 'POST /v1/payments');
  assert.equal(byId.listPaymentRefunds, 'GET /v1/payments/{id}/refunds');
  assert.equal(byId.createToken, 'POST /oauth/token');
  assert.deepEqual(doc.paths['/oauth/token'].post.security, [{ clientBasic: [] }, {}]);
  assert.deepEqual(doc.paths['/.well-known/jwks.json'].get.security, []);
});

test('every 4xx/5xx answer is the Error schema (the token endpoint: RFC 6749 errors), with X-Request-Id; 500 and 503 everywhere', () => {
  for (const { method, path: p, op } of operations()) {
    const token = p === '/oauth/token';
    for (const [status, raw] of Object.entries(op.responses as Json)) {
      const response = deref(raw as Json);
      assert.notEqual(response.description, 'Default Response', `${method} ${p} ${status}`);
      assert.ok(response.headers?.['X-Request-Id'], `${method} ${p} ${status} declares X-Request-Id`);
      if (Number(status) < 400) continue;
      const schema = response.content?.['application/json']?.schema;
      assert.equal(schema?.$ref, token ? '#/components/schemas/OAuthError' : '#/components/schemas/Error', `${method} ${p} ${status}`);
      if (status === '429' || status === '503') assert.ok(response.headers['Retry-After'], `${method} ${p} ${status} declares Retry-After`);
    }
    if (!token) for (const s of ['500', '503']) assert.ok(op.responses[s], `${method} ${p} documents ${s}`);
    if (op.parameters?.length || op.requestBody) assert.ok(op.responses['400'], `${method} ${p} takes input, so documents 400`);
    if (op.security.some((s: Json) => 'oauth2' in s)) assert.ok(op.responses['401'] && op.responses['403'], `${method} ${p} documents 401 and 403`);
  }
  const error = doc.components.schemas.Error.properties.error;
  assert.deepEqual(error.required, ['type', 'code', 'message', 'doc_url', 'request_id']);
  assert.equal(error.properties.doc_url.format, 'uri');
});

test('enums equal the code\'s sets', () => {
  const s = doc.components.schemas;
  assert.deepEqual(enumOf(s.Error.properties.error.properties.code), Object.keys(ERROR_CODES));
  assert.deepEqual(new Set(enumOf(s.Error.properties.error.properties.type)), new Set(Object.values(ERROR_CODES).map((c) => c.type)));
  assert.deepEqual(enumOf(s.Payment.properties.status), [...PAYMENT_STATUSES]);
  assert.deepEqual(enumOf(s.Refund.properties.status), [...REFUND_STATUSES]);
  assert.deepEqual(enumOf(s.Payment.properties.failure_code), [...PAYMENT_FAILURE_CODES, null]);
  assert.deepEqual(enumOf(s.Refund.properties.failure_code), [...REFUND_FAILURE_CODES, null]);
  assert.deepEqual(enumOf(s.Payment.properties.currency), [...SUPPORTED_CURRENCIES]);
  assert.deepEqual(enumOf(s.Event.properties.type), [...EVENT_TYPES]);
  // payment_method: one of two shapes, told apart by `type`
  for (const name of ['CreatePaymentRequest', 'Payment']) {
    const pm = s[name].properties.payment_method;
    assert.equal(pm.oneOf.length, 2, name);
    assert.equal(pm.discriminator.propertyName, 'type', name);
    for (const [type, target] of Object.entries(pm.discriminator.mapping as Record<string, string>)) {
      assert.deepEqual(enumOf(deref({ $ref: target }).properties.type), [type], `${name} ${type}`);
    }
  }
});

test('examples validate against their schemas; tenant operations have one for every body and answer', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: false });
  (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
  // OpenAPI's discriminator is documentation for generators; Ajv validates the oneOf itself
  const rooted = JSON.parse(JSON.stringify(doc).replaceAll('"#/components/', '"openapi.json#/components/').replaceAll('"discriminator":', '"x-discriminator":'));
  ajv.addSchema({ $id: 'openapi.json', components: rooted.components });
  const check = (schema: Json, example: unknown, where: string) => {
    const validate = ajv.compile({ ...JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/').replaceAll('"discriminator":', '"x-discriminator":')) });
    assert.ok(validate(example), `${where}: ${ajv.errorsText(validate.errors)}`);
  };
  let checked = 0;
  const medias = (o: Operation) => [
    ...(o.op.requestBody ? [['request body', o.op.requestBody.content] as const] : []),
    ...Object.entries(o.op.responses as Json).map(([status, r]) => [status, deref(r as Json).content] as const),
  ];
  for (const o of operations()) {
    for (const [where, content] of medias(o)) {
      for (const [type, media] of Object.entries((content ?? {}) as Json)) {
        const examples = media.example !== undefined ? [media.example] : Object.values((media.examples ?? {}) as Json).map((e: Json) => e.value);
        if (!isAdmin(o) && type === 'application/json') assert.ok(examples.length > 0, `${o.method} ${o.path} ${where} has an example`);
        for (const example of examples) {
          check(media.schema, example, `${o.method} ${o.path} ${where}`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 100, `examples checked: ${checked}`);
  // a declined card is an example of the Payment schema too; a made-up failure code is not
  const payment = doc.components.schemas.Payment.examples[0];
  check({ $ref: '#/components/schemas/Payment' }, { ...payment, status: 'failed', failure_code: 'card_declined' }, 'declined');
  const validate = ajv.compile({ $ref: 'openapi.json#/components/schemas/Payment' });
  assert.equal(validate({ ...payment, failure_code: 'card_decliend' }), false, 'a misspelt failure_code is refused');
  const create = ajv.compile({ $ref: 'openapi.json#/components/schemas/CreatePaymentRequest' });
  assert.equal(create({ amount: 2000, currency: 'usd', payment_method: { type: 'card' } }), false, 'a card payment without a card is refused');
});

test('an operation the document marks as requiring Idempotency-Key answers 400 idempotency_key_missing without one', async () => {
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  const required = operations().filter((o) => (o.op.parameters ?? []).some((p: Json) => p.$ref === '#/components/parameters/IdempotencyKey'));
  assert.deepEqual(required.map((o) => o.op.operationId).sort(), ['cancelPayment', 'capturePayment', 'createPayment', 'createRefund']);
  for (const o of required) {
    const body = o.op.requestBody?.content['application/json'].example;
    const res = await platform.request(o.method.toUpperCase(), o.path.replace('{id}', 'pay_01jq8x4m3c7kq2v9d8r6t5w4yz'), { token: tenant.token, body });
    assert.equal(res.status, 400, `${o.op.operationId}: ${res.text}`);
    assert.equal(res.body.error.code, 'idempotency_key_missing', o.op.operationId);
  }
  // and the documented example of the create request, with a key, makes a payment answered as documented
  const create = doc.paths['/v1/payments'].post;
  const res = await platform.request('POST', '/v1/payments', {
    token: tenant.token, body: create.requestBody.content['application/json'].example, headers: { 'idempotency-key': 'openapi-doc-example-1' },
  });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.status, 'succeeded');
  assert.ok(res.headers.get('x-request-id'));
  const replay = await platform.request('POST', '/v1/payments', {
    token: tenant.token, body: create.requestBody.content['application/json'].example, headers: { 'idempotency-key': 'openapi-doc-example-1' },
  });
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  // an operation not marked so does not ask for a key
  const endpoint = await platform.request('POST', '/v1/webhook_endpoints', {
    token: tenant.token, body: { url: 'https://example.com/hook', enabled_events: ['*'] },
  });
  assert.notEqual(endpoint.body?.error?.code, 'idempotency_key_missing');
});
