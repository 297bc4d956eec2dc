import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { createHttpApp, type HttpApp } from '../../src/platform/http/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { createMetrics, type Metrics } from '../../src/platform/metrics.js';
import { registerMetricsRoute } from '../../src/platform/http/health-routes.js';
import { AppError } from '../../src/platform/errors.js';
import { LogCapture } from '../helpers/platform.js';

// The platform's HTTP conventions, exercised over real HTTP on an app built by the same factory as the API.
let app: HttpApp;
let base: string;
let metrics: Metrics;
const logs = new LogCapture();

before(async () => {
  metrics = createMetrics({ role: 'test', collectDefaults: false });
  app = await createHttpApp({ logger: createLogger({ level: 'info' }, logs), metrics, bodyLimitBytes: 2048, publicUrl: 'http://x', title: 't' });
  registerMetricsRoute(app, metrics);
  app.post('/things/:id', {
    schema: {
      params: Type.Object({ id: Type.String() }),
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false }),
      body: Type.Object(
        { amount: Type.Integer({ minimum: 1 }), nested: Type.Optional(Type.Object({ name: Type.String() }, { additionalProperties: false })) },
        { additionalProperties: false },
      ),
    },
  }, async (request) => ({ id: request.params.id, amount: request.body.amount, limit: request.query.limit ?? null }));
  app.get('/boom', async () => {
    throw new Error('secret internal detail: connection string postgres://user:pw@host');
  });
  app.get('/conflict', async () => {
    throw new AppError('invalid_state', 'Payment is succeeded', { param: 'status' });
  });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
after(() => app.close());

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

function assertErrorShape(body: any, code: string, type?: string) {
  assert.equal(body.error.code, code);
  if (type) assert.equal(body.error.type, type);
  assert.equal(typeof body.error.message, 'string');
  assert.match(body.error.request_id, /^req_[0-9a-z]{26}$/);
  assert.equal(body.error.doc_url, `http://x/docs/errors#${code}`, 'the app\'s publicUrl, then the code\'s anchor');
  assert.deepEqual(Object.keys(body).sort(), ['error']);
}

test('a valid request passes, query strings are coerced', async () => {
  const r = await call('POST', '/things/abc?limit=5', JSON.stringify({ amount: 100 }));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { id: 'abc', amount: 100, limit: 5 });
});

test('unknown body fields are rejected naming the param, never stripped', async () => {
  const r = await call('POST', '/things/abc', JSON.stringify({ amount: 1, nested: { name: 'x', extra: 1 } }));
  assert.equal(r.status, 400);
  assertErrorShape(r.body, 'parameter_unknown', 'invalid_request_error');
  assert.equal(r.body.error.param, 'nested[extra]');
});

test('wrong types are not coerced in bodies', async () => {
  const r = await call('POST', '/things/abc', JSON.stringify({ amount: '100' }));
  assert.equal(r.status, 400);
  assertErrorShape(r.body, 'parameter_invalid_integer', 'invalid_request_error');
  assert.equal(r.body.error.param, 'amount');
});

test('missing required fields name the param', async () => {
  const r = await call('POST', '/things/abc', JSON.stringify({}));
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'amount');
  assert.match(r.body.error.message, /Missing required parameter: amount/);
});

test('unknown query parameters are rejected', async () => {
  const r = await call('POST', '/things/abc?tenant_id=ten_x', JSON.stringify({ amount: 1 }));
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'tenant_id');
});

test('malformed JSON is a 400 invalid_json', async () => {
  const r = await call('POST', '/things/abc', '{"amount": 1,');
  assert.equal(r.status, 400);
  assertErrorShape(r.body, 'invalid_json');
});

test('a body over the limit is a 413', async () => {
  const r = await call('POST', '/things/abc', JSON.stringify({ amount: 1, pad: 'x'.repeat(5000) }));
  assert.equal(r.status, 413);
  assertErrorShape(r.body, 'payload_too_large');
});

test('a non-JSON content type is a 415', async () => {
  const r = await call('POST', '/things/abc', 'amount=1', { 'content-type': 'text/plain' });
  assert.equal(r.status, 415);
  assertErrorShape(r.body, 'unsupported_media_type');
});

test('an unknown route is a 404 route_not_found', async () => {
  const r = await call('GET', '/nope');
  assert.equal(r.status, 404);
  assertErrorShape(r.body, 'route_not_found');
});

test('a known route with the wrong method is a 405 with Allow', async () => {
  const r = await call('DELETE', '/things/abc');
  assert.equal(r.status, 405);
  assertErrorShape(r.body, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'POST');
});

test('an unexpected error is a 500 without internal detail; the log has it', async () => {
  const r = await call('GET', '/boom');
  assert.equal(r.status, 500);
  assertErrorShape(r.body, 'internal_error', 'api_error');
  assert.doesNotMatch(JSON.stringify(r.body), /secret internal detail|postgres:/);
  const line = logs.records().find((l) => l.request_id === r.body.error.request_id && l.msg === 'unhandled error');
  assert.ok(line, 'the error is logged with the request id');
  assert.match(JSON.stringify(line), /secret internal detail/);
});

test('AppError maps to its status, type and param', async () => {
  const r = await call('GET', '/conflict');
  assert.equal(r.status, 409);
  assert.equal(r.body.error.param, 'status');
  assertErrorShape(r.body, 'invalid_state');
});

test('request ids: generated, returned, kept when well-formed, replaced when not, on every log line', async () => {
  const generated = await fetch(`${base}/things/abc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":1}' });
  assert.match(generated.headers.get('x-request-id') ?? '', /^req_[0-9a-z]{26}$/);

  const kept = await fetch(`${base}/things/abc`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'upstream-trace-12345' }, body: '{"amount":1}',
  });
  assert.equal(kept.headers.get('x-request-id'), 'upstream-trace-12345');

  const replaced = await fetch(`${base}/things/abc`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'bad id with spaces <script>' }, body: '{"amount":1}',
  });
  assert.match(replaced.headers.get('x-request-id') ?? '', /^req_/);

  const line = logs.records().find((l) => l.request_id === 'upstream-trace-12345' && l.msg === 'request completed');
  assert.ok(line);
  assert.equal(line.method, 'POST');
  assert.equal(line.route, '/things/:id');
  assert.equal(line.status_code, 200);
  assert.equal(typeof line.latency_ms, 'number');
});

test('metrics label requests by route template, never the raw URL', async () => {
  await call('POST', '/things/some-unique-id-999', JSON.stringify({ amount: 1 }));
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /http_request_duration_seconds_bucket\{[^}]*route="\/things\/:id"/);
  assert.doesNotMatch(text, /some-unique-id-999/);
});

test('authorization headers and card fields are redacted from logs', () => {
  const capture = new LogCapture();
  const logger = createLogger({ level: 'info' }, capture);
  logger.info({ req: { headers: { authorization: 'Bearer abc.def.ghi' } }, payment_method: { card: { number: '4242424242424242', cvc: '123' } }, client_secret: 'shh' }, 'x');
  assert.doesNotMatch(capture.text(), /abc\.def\.ghi|4242424242424242|"123"|shh/);
});
