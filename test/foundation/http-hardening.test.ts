import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Type } from '@sinclair/typebox';
import { startTestPlatform, type TestResponse } from '../helpers/platform.js';
import { adminToken } from '../helpers/tenants.js';
import { CARDS, cardBody, countRows, post } from '../payments/helpers.js';
import { supportClient } from '../support/helpers.js';
import { createHttpApp, type HttpApp } from '../../src/platform/http/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { CONSOLE_CSP } from '../../src/main/console-static.js';
import { useTenantPlatform } from '../helpers/tenant-platform.js';

// Issue 12: every input answers a documented 4xx (never a 5xx, never a body outside the error model), and every
// answer carries the security headers. Over real HTTP against the real platform; the HTTP parser's own errors over
// raw TCP, since no HTTP client would send them.

const REQUEST_ID = /^req_[0-9a-z]{26}$/;
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

function assertErrorModel(res: { status: number; headers: Headers; body: any; text?: string }, status: number, code: string, param?: string): void {
  assert.equal(res.status, status, res.text ?? JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body ?? {}), ['error'], res.text);
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.type, 'string');
  assert.equal(typeof res.body.error.message, 'string');
  assert.match(res.body.error.request_id, REQUEST_ID);
  assert.equal(res.headers.get('x-request-id'), res.body.error.request_id);
  // every path, the raw-socket answers included, links the code's entry in the errors guide
  assert.match(res.body.error.doc_url, new RegExp(`^http://[^/#]+/docs/errors#${code}$`), res.text);
  if (param !== undefined) assert.equal(res.body.error.param, param, res.text);
}

function assertSecurityHeaders(headers: Headers, what: string, options: { noStore?: boolean; csp?: string } = {}): void {
  assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
  assert.equal(headers.get('content-security-policy'), options.csp ?? API_CSP, what);
  if (options.noStore ?? true) assert.equal(headers.get('cache-control'), 'no-store', what);
}

interface RawResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/**
 * Sends bytes over a plain TCP connection (then, optionally, more with `drip`) and reads until the server closes it.
 * The socket is destroyed in t.after whatever happens; a server that never answers fails the test at the deadline.
 */
function rawExchange(t: TestContext, baseUrl: string, request: string | Buffer, drip?: (socket: net.Socket) => void): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  t.after(() => socket.destroy());
  return new Promise<RawResponse>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const deadline = setTimeout(() => reject(new Error(`no answer within 30 s; got: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`)), 30_000);
    socket.on('connect', () => {
      socket.write(request);
      drip?.(socket);
    });
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {}); // a reset after the answer is fine; the answer is what is checked
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve(parseRawResponse(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

function parseRawResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = (split < 0 ? text : text.slice(0, split)).split('\r\n');
  const headers = new Headers();
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  let body: unknown;
  try {
    const length = Number(headers.get('content-length') ?? NaN);
    const rest = text.slice(split + 4);
    body = JSON.parse(Number.isFinite(length) ? Buffer.from(rest).subarray(0, length).toString('utf8') : rest);
  } catch {
    body = undefined;
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body, text };
}

describe('inputs PostgreSQL cannot store, and numbers it cannot hold, are a 400 naming the param', () => {
  const fx = useTenantPlatform();

  const written = async () => Promise.all(['payments', 'idempotency_keys', 'events', 'tenants', 'webhook_endpoints'].map((t) => countRows(fx.platform, t)));

  const bodies: Array<[string, Record<string, unknown>, string | RegExp]> = [
    ['NUL in a body value', cardBody(CARDS.visa, { description: 'a\u0000b' }), 'description'],
    ['NUL in a metadata key', cardBody(CARDS.visa, { metadata: { 'ok': 'v', 'bad\u0000key': 'v' } }), 'metadata[bad\\u0000key]'],
    ['NUL in a metadata value', cardBody(CARDS.visa, { metadata: { order: 'x\u0000' } }), 'metadata[order]'],
    ['NUL in a nested value', cardBody(CARDS.visa, { payment_method: { type: 'card', card: { number: CARDS.visa, exp_month: 12, exp_year: 2040, cvc: '12\u00003' } } }), 'payment_method[card][cvc]'],
    ['a lone high surrogate', cardBody(CARDS.visa, { customer_reference: 'cust-\ud800' }), 'customer_reference'],
    ['a lone low surrogate in a key', cardBody(CARDS.visa, { metadata: { 'k\udc00': 'v' } }), 'metadata[k\\udc00]'],
  ];
  for (const [name, body, param] of bodies) {
    it(`POST /v1/payments with ${name}: 400, nothing written`, async () => {
      const before = await written();
      const res = await post(fx.platform, fx.tenant.token, '/v1/payments', body);
      assertErrorModel(res, 400, 'parameter_invalid_string', param as string);
      assert.deepEqual(await written(), before);
    });
  }

  it('a well-formed surrogate pair (an emoji) is stored as sent', async () => {
    const res = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa, { description: 'paid \u{1F600}', metadata: { 'k\u{1F600}': '\u{1F600}' } }));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.description, 'paid \u{1F600}');
    assert.deepEqual(res.body.metadata, { 'k\u{1F600}': '\u{1F600}' });
  });

  it('body bytes that are not UTF-8 are refused, not stored as U+FFFD', async (t) => {
    const body = Buffer.concat([Buffer.from(JSON.stringify(cardBody(CARDS.visa)).slice(0, -1) + ',"description":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const before = await written();
    const res = await rawExchange(t, fx.platform.baseUrl, Buffer.concat([
      Buffer.from(`POST /v1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${fx.tenant.token}\r\nIdempotency-Key: k-utf8\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`),
      body,
    ]));
    assertErrorModel(res, 400, 'invalid_json');
    assert.deepEqual(await written(), before);
  });

  it('NUL in a query filter, a cursor, a path id: 400 naming it', async () => {
    const get = (path: string) => fx.platform.request('GET', path, { token: fx.tenant.token });
    assertErrorModel(await get('/v1/payments?customer_reference=a%00b'), 400, 'parameter_invalid_string', 'customer_reference');
    assertErrorModel(await get('/v1/payments?starting_after=pay_%00'), 400, 'parameter_invalid_string', 'starting_after');
    assertErrorModel(await get('/v1/events?object_id=%00'), 400, 'parameter_invalid_string', 'object_id');
    assertErrorModel(await get('/v1/payments/pay_%00'), 400, 'parameter_invalid_string', 'id');
    assertErrorModel(await get('/v1/events/evt_%00x'), 400, 'parameter_invalid_string', 'id');
    // a percent-escape that is not UTF-8 is refused, never searched for as the literal text "%FF"
    assertErrorModel(await get('/v1/payments?customer_reference=%FF'), 400, 'parameter_invalid_format', 'customer_reference');
  });

  it('admin, webhook, support, staff and OAuth routes refuse NUL the same way', async () => {
    const admin = await adminToken(fx.platform);
    const support = await supportClient(fx.platform, ['support:read']);
    const before = await written();
    assertErrorModel(await fx.platform.request('POST', '/v1/admin/tenants', { token: admin, body: { name: 'Acme\u0000' } }), 400, 'parameter_invalid_string', 'name');
    assertErrorModel(await fx.platform.request('POST', '/v1/webhook_endpoints', {
      token: fx.tenant.token, body: { url: 'http://127.0.0.1:9/hook', enabled_events: ['*'], description: '\u0000' },
    }), 400, 'parameter_invalid_string', 'description');
    assertErrorModel(await fx.platform.request('GET', '/v1/support/payments?processor_reference=x%00', { token: support.token }), 400, 'parameter_invalid_string', 'processor_reference');
    assertErrorModel(await fx.platform.request('GET', '/v1/support/search?q=%00', { token: support.token }), 400, 'parameter_invalid_string', 'q');
    assertErrorModel(await fx.platform.request('POST', '/v1/staff/login', { body: { email: 'a\u0000@example.com', password: 'x' } }), 400, 'parameter_invalid_string', 'email');
    assert.deepEqual(await written(), before);

    // The token endpoint answers in RFC 6749's format (documented), still a 400 and never a 500.
    const token = await fx.platform.request('POST', '/oauth/token', {
      rawBody: 'grant_type=client_credentials&client_id=a%00b&client_secret=x', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(token.status, 400, token.text);
    assert.equal(token.body.error, 'invalid_request');
    assert.equal(token.headers.get('cache-control'), 'no-store');
  });

  it('times and numbers out of range are a 400 naming the param, never an invalid date or a bigint overflow', async () => {
    const support = await supportClient(fx.platform, ['support:read']);
    const cases: Array<[string, string, string, string]> = [
      [fx.tenant.token, '/v1/events?created[gte]=999999999999', 'created[gte]', 'parameter_invalid_format'],
      [fx.tenant.token, '/v1/events?created[lte]=2025-02-30T00:00:00Z', 'created[lte]', 'parameter_invalid_format'],
      [fx.tenant.token, '/v1/events?created[gte]=2025-01-01T24:00:00Z', 'created[gte]', 'parameter_invalid_format'],
      [fx.tenant.token, '/v1/payments?created[gte]=100000000000000000000', 'created[gte]', 'parameter_out_of_range'],
      [fx.tenant.token, '/v1/payments?created[lte]=253402300800', 'created[lte]', 'parameter_out_of_range'],
      [fx.tenant.token, '/v1/payments?limit=1e300', 'limit', 'parameter_out_of_range'],
      [support.token, '/v1/support/payments?created[lte]=999999999999', 'created[lte]', 'parameter_invalid_format'],
      [support.token, '/v1/support/payments?amount[gte]=1e30', 'amount[gte]', 'parameter_out_of_range'],
      [support.token, '/v1/support/requests?starting_after=9999999999999999999', 'starting_after', 'parameter_invalid_format'],
      [support.token, '/v1/support/audit_log?created[gte]=0001-01-01T00:00:00Z', 'created[gte]', 'parameter_invalid_format'],
    ];
    for (const [token, path, param, code] of cases) assertErrorModel(await fx.platform.request('GET', path, { token }), 400, code, param);

    const endpoint = await post(fx.platform, fx.tenant.token, '/v1/webhook_endpoints', { url: 'http://127.0.0.1:9/hook', enabled_events: ['*'] });
    assert.equal(endpoint.status, 201, endpoint.text);
    const replay = await post(fx.platform, fx.tenant.token, `/v1/webhook_endpoints/${endpoint.body.id}/replay`, { created_gte: '999999999999', created_lte: '1' });
    assertErrorModel(replay, 400, 'parameter_invalid_format', 'created_gte');

    // the ends of the range still work
    assert.equal((await fx.platform.request('GET', '/v1/events?created[gte]=0&created[lte]=253402300799', { token: fx.tenant.token })).status, 200);
    assert.equal((await fx.platform.request('GET', '/v1/events?created[lte]=9999-12-31T23:59:59.999Z', { token: fx.tenant.token })).status, 200);
  });

  it('metadata keys: 1–40 characters, no square brackets, enforced and in the OpenAPI document', async () => {
    const before = await written();
    const bad: Array<[Record<string, string>, string, string]> = [
      [{ '': 'v' }, 'metadata[]', 'parameter_too_short'],
      [{ ['k'.repeat(5000)]: 'v' }, `metadata[${'k'.repeat(64)}…]`, 'parameter_too_long'],
      [{ ['k'.repeat(41)]: 'v' }, `metadata[${'k'.repeat(41)}]`, 'parameter_too_long'],
      [{ 'a[b]': 'v' }, 'metadata[a[b]]', 'parameter_invalid_format'],
      [{ ok: 'v'.repeat(501) }, 'metadata[ok]', 'parameter_too_long'],
    ];
    for (const [metadata, param, code] of bad) {
      assertErrorModel(await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa, { metadata })), 400, code, param);
    }
    assert.deepEqual(await written(), before);
    const fine = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa, { metadata: { ['k'.repeat(40)]: 'v'.repeat(500) } }));
    assert.equal(fine.status, 201, fine.text);

    const doc = (await fx.platform.request('GET', '/openapi.json')).body;
    const schema = doc.paths['/v1/payments'].post.requestBody.content['application/json'].schema;
    const metadata = schema.properties?.metadata ?? doc.components?.schemas?.[schema.$ref?.split('/').pop()]?.properties?.metadata;
    assert.equal(metadata.maxProperties, 50);
    assert.deepEqual({ ...metadata.propertyNames }, { type: 'string', minLength: 1, maxLength: 40, pattern: '^[^\\[\\]]*$' });
    assert.equal(metadata.additionalProperties?.maxLength ?? Object.values<any>(metadata.patternProperties ?? {})[0]?.maxLength, 500);
  });
});

describe('framework and Node errors answer in the error model, with a request id and the security headers', () => {
  const fx = useTenantPlatform();

  const check = (res: RawResponse | TestResponse, status: number, code: string) => {
    assertErrorModel(res, status, code);
    assertSecurityHeaders(res.headers, `${status} ${code}`);
  };

  it('malformed percent-encoding in the path: 400', async () => {
    check(await fx.platform.request('GET', '/v1/payments/pay_%zz', { token: fx.tenant.token }), 400, 'invalid_request');
    check(await fx.platform.request('GET', '/v1/nope/%E0%A4%A', {}), 400, 'invalid_request');
  });

  it('a 10 KB path parameter: 414; a URL over 8 KiB: 414', async () => {
    check(await fx.platform.request('GET', `/v1/payments/${'x'.repeat(10_000)}`, { token: fx.tenant.token }), 414, 'uri_too_long');
    check(await fx.platform.request('GET', `/v1/payments?customer_reference=${'x'.repeat(9_000)}`, { token: fx.tenant.token }), 414, 'uri_too_long');
  });

  it('oversized headers: 431, written by hand on the connection with a fresh request id', async (t) => {
    const res = await rawExchange(t, fx.platform.baseUrl, `GET /v1/payments HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    check(res, 431, 'request_header_fields_too_large');
    assert.equal(res.headers.get('connection'), 'close');
  });

  it('bad characters in a header, a malformed request, a missing Host: 400', async (t) => {
    check(await rawExchange(t, fx.platform.baseUrl, 'GET /v1/payments HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n'), 400, 'invalid_request');
    check(await rawExchange(t, fx.platform.baseUrl, 'GET /v1/payments HTTP/1.1\r\nHost: x\r\nBad Header: a\r\n\r\n'), 400, 'invalid_request');
    check(await rawExchange(t, fx.platform.baseUrl, 'HELLO\r\n\r\n'), 400, 'invalid_request');
    check(await rawExchange(t, fx.platform.baseUrl, 'POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 400, 'invalid_request');
    check(await rawExchange(t, fx.platform.baseUrl, 'GET /v1/payments HTTP/1.1\r\nConnection: close\r\n\r\n'), 400, 'invalid_request');
  });

  it('CONNECT: 405 (Node would drop the connection without a word)', async (t) => {
    check(await rawExchange(t, fx.platform.baseUrl, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 405, 'method_not_allowed');
  });

  it('413, 415, 404, 405 and 401 carry the same headers', async () => {
    const big = await fx.platform.request('POST', '/v1/payments', { token: fx.tenant.token, rawBody: JSON.stringify({ pad: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json', 'idempotency-key': 'k-big' } });
    check(big, 413, 'payload_too_large');
    const text = await fx.platform.request('POST', '/v1/payments', { token: fx.tenant.token, rawBody: 'x', headers: { 'content-type': 'text/plain', 'idempotency-key': 'k-text' } });
    check(text, 415, 'unsupported_media_type');
    check(await fx.platform.request('GET', '/v1/nothing-here', {}), 404, 'route_not_found');
    check(await fx.platform.request('PUT', '/v1/payments', { token: fx.tenant.token }), 405, 'method_not_allowed');
    const unauthenticated = await fx.platform.request('GET', '/v1/payments', {});
    check(unauthenticated, 401, 'authentication_required');
  });

  it('a /v1 success is no-store with the security headers; HSTS is absent in development', async () => {
    const res = await fx.platform.request('GET', '/v1/payments', { token: fx.tenant.token });
    assert.equal(res.status, 200);
    assertSecurityHeaders(res.headers, 'GET /v1/payments');
    assert.equal(res.headers.get('strict-transport-security'), null);
    const health = await fx.platform.request('GET', '/healthz');
    assertSecurityHeaders(health.headers, '/healthz', { noStore: false });
  });

  it('/docs works under its own CSP: no script at all, its stylesheet from /docs itself, nothing from another host, no framing', async () => {
    const docs = await fetch(`${fx.platform.baseUrl}/docs/`);
    assert.equal(docs.status, 200);
    const html = await docs.text();
    const csp = docs.headers.get('content-security-policy') ?? '';
    assert.doesNotMatch(html, /<script/i, 'the reference is rendered on the server');
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src|'unsafe-inline'|'unsafe-eval'|https?:/, csp);
    assert.match(csp, /style-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const href = /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1];
    assert.ok(href?.startsWith('/docs/'), 'the page loads its stylesheet from /docs itself');
    assert.equal((await fetch(new URL(href!, `${fx.platform.baseUrl}/docs/`))).status, 200);
  });

  it('the console keeps its own CSP', async () => {
    const res = await fetch(`${fx.platform.baseUrl}/console/`);
    assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });
});

describe('outside development', () => {
  it('every answer carries Strict-Transport-Security', async (t) => {
    const platform = await startTestPlatform({ env: { NIMBUSPAY_ENV: 'staging' } });
    t.after(() => platform.close());
    for (const path of ['/v1/payments', '/healthz', '/docs/']) {
      const res = await platform.request('GET', path);
      assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains', path);
    }
  });
});

describe('request timeouts (a short one configured on an app from the same factory)', () => {
  let app: HttpApp;
  let base: string;
  before(async () => {
    app = await createHttpApp({
      logger: createLogger({ level: 'silent' }), bodyLimitBytes: 4096, publicUrl: 'http://x', title: 't',
      timeouts: { requestMs: 1_000, headersMs: 500, checkIntervalMs: 50 },
    });
    app.post('/v1/things', { config: { public: true }, schema: { body: Type.Object({ a: Type.String() }) } }, async () => ({ ok: true }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => app?.close());

  it('a body dribbled a byte at a time is cut off with a 408', async (t) => {
    let timer: NodeJS.Timeout | undefined;
    t.after(() => clearInterval(timer));
    const res = await rawExchange(t, base, 'POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{', (socket) => {
      timer = setInterval(() => {
        if (socket.writable) socket.write(' ');
      }, 100);
    });
    assertErrorModel(res, 408, 'request_timeout');
    assertSecurityHeaders(res.headers, '408');
    assert.equal(res.headers.get('connection'), 'close');
  });

  it('headers that never end are cut off with a 408', async (t) => {
    const res = await rawExchange(t, base, 'GET /v1/things HTTP/1.1\r\nHost: x\r\nX-Slow: a');
    assertErrorModel(res, 408, 'request_timeout');
  });

  it('an idle keep-alive connection is not mistaken for slow headers', async (t) => {
    const body = '{"a":"b"}';
    const request = (last: boolean) => `POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${last ? 'Connection: close\r\n' : ''}\r\n${body}`;
    const res = await rawExchange(t, base, request(false), (socket) => {
      // the second request goes out only after the first answer has come back and the headers timeout has passed
      socket.once('data', () => setTimeout(() => socket.write(request(true)), 800));
    });
    assert.equal([...res.text.matchAll(/HTTP\/1\.1 200 OK/g)].length, 2, res.text);
  });
});

describe('a request arriving while the server closes', () => {
  it('is answered 503 in the error model with Connection: close, not with the framework\'s own body', async (t) => {
    const app = await createHttpApp({ logger: createLogger({ level: 'silent' }), bodyLimitBytes: 1024, publicUrl: 'http://x', title: 't' });
    let closed: Promise<void> | undefined;
    let release = () => {};
    t.after(async () => {
      release();
      await (closed ?? app.close());
    });
    const gate = new Promise<void>((r) => (release = r));
    let entered = () => {};
    const inHandler = new Promise<void>((r) => (entered = r));
    let closingStarted = () => {};
    const closing = new Promise<void>((r) => (closingStarted = r));
    app.addHook('preClose', async () => closingStarted());
    app.get('/v1/slow', { config: { public: true } }, async () => {
      entered();
      await gate;
      return { ok: true };
    });
    app.get('/v1/fast', { config: { public: true } }, async () => ({ ok: true }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    // the slow request holds its connection open (active, so the close does not reap it) until the second one is in
    app.server.on('request', (req) => {
      if (req.url === '/v1/fast') release();
    });
    const res = await rawExchange(t, base, 'GET /v1/slow HTTP/1.1\r\nHost: x\r\n\r\n', (socket) => {
      void inHandler.then(async () => {
        closed = app.close();
        await closing;
        socket.write('GET /v1/fast HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    });
    assert.equal(res.status, 200, res.text);
    const second = res.text.indexOf('HTTP/1.1 503');
    assert.ok(second > 0, res.text);
    const refused = parseRawResponse(res.text.slice(second));
    assertErrorModel(refused, 503, 'service_unavailable');
    assert.equal(refused.headers.get('connection'), 'close');
    assert.equal(refused.headers.get('retry-after'), '1');
  });
});
