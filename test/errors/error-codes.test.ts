import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, type ErrorCode } from '../../src/platform/errors.js';
import type { TestResponse } from '../helpers/platform.js';
import { CARDS, cardBody, countRows, ownerQuery, post } from '../payments/helpers.js';
import { useTenantPlatform, useWebhookEndpoint } from '../helpers/tenant-platform.js';

describe('ERROR_CODES', () => {
  it('every code has a status, a type and a one-sentence description saying what it means and how to fix it', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[a-z][a-z0-9_]*$/, code);
      assert.ok(spec.status >= 400 && spec.status < 600, code);
      assert.match(spec.type, /_error$/, code);
      assert.ok(spec.description.trim().length >= 30, `${code} needs a description`);
      assert.match(spec.description, /[.)]$/, `${code}: a sentence`);
    }
  });
});

describe('errors: precise codes, param, doc_url', () => {
  const fx = useTenantPlatform();
  const hooks = useWebhookEndpoint(fx);

  function assertError(res: TestResponse, status: number, code: ErrorCode, param?: string): void {
    assert.equal(res.status, status, res.text);
    const error = res.body?.error;
    assert.equal(error?.code, code, res.text);
    assert.equal(error.type, ERROR_CODES[code].type);
    assert.equal(error.param, param);
    assert.equal(error.doc_url, `${fx.platform.config.publicUrl}/docs/errors#${code}`);
    assert.match(error.request_id, /^req_/);
    assert.equal(res.headers.get('x-request-id'), error.request_id);
  }

  const year = new Date().getUTCFullYear() + 2;
  const card = { number: CARDS.visa, exp_month: 12, exp_year: year, cvc: '123' };
  const bank = { account_holder_name: 'Acme', account_number: '000123456789', routing_number: '110000000', account_type: 'checking' };
  const cases: Array<[string, Record<string, unknown>, ErrorCode, string, RegExp]> = [
    ['a missing field', { amount: 100, payment_method: { type: 'card', card } }, 'parameter_missing', 'currency', /Missing required parameter: currency/],
    ['a nested missing field', cardBody(CARDS.visa, { payment_method: { type: 'card', card: { ...card, cvc: undefined } } }), 'parameter_missing', 'payment_method[card][cvc]', /cvc/],
    ['an unknown field', cardBody(CARDS.visa, { amount_cents: 100 }), 'parameter_unknown', 'amount_cents', /Unknown parameter: amount_cents/],
    ['an amount as a string', cardBody(CARDS.visa, { amount: '2000' }), 'parameter_invalid_integer', 'amount', /integer/],
    ['a string field given a number', cardBody(CARDS.visa, { description: 42 }), 'parameter_invalid_string', 'description', /must be a string/],
    ['an object given a string', { amount: 100, currency: 'usd', payment_method: 'card' }, 'parameter_invalid_object', 'payment_method', /JSON object/],
    ['a value outside a closed set', cardBody(CARDS.visa, { capture_method: 'later' }), 'parameter_invalid_enum', 'capture_method', /one of: automatic, manual/],
    ['an unsupported currency', cardBody(CARDS.visa, { currency: 'xyz' }), 'parameter_invalid_enum', 'currency', /usd/],
    ['a malformed currency', cardBody(CARDS.visa, { currency: 'dollars' }), 'parameter_invalid_format', 'currency', /ISO 4217/],
    ['a too long description', cardBody(CARDS.visa, { description: 'x'.repeat(1001) }), 'parameter_too_long', 'description', /at most 1000 characters/],
    ['an empty customer_reference', cardBody(CARDS.visa, { customer_reference: '' }), 'parameter_too_short', 'customer_reference', /must not be empty/],
    ['a month out of range', cardBody(CARDS.visa, { payment_method: { type: 'card', card: { ...card, exp_month: 13 } } }), 'parameter_out_of_range', 'payment_method[card][exp_month]', /from 1 to 12/],
    ['a card with a bank account', { amount: 100, currency: 'usd', payment_method: { type: 'card', card, bank_account: bank } }, 'parameters_exclusive', 'payment_method[bank_account]', /remove payment_method\[bank_account\]/],
    ['a zero amount', cardBody(CARDS.visa, { amount: 0 }), 'amount_too_small', 'amount', /at least 1/],
    ['an amount over the cap', cardBody(CARDS.visa, { amount: 100_000_000 }), 'amount_too_large', 'amount', /at most 99999999/],
    ['a bad metadata key', cardBody(CARDS.visa, { metadata: { ['k'.repeat(41)]: 'v' } }), 'parameter_too_long', `metadata[${'k'.repeat(41)}]`, /Invalid key .*at most 40 characters/],
  ];
  for (const [name, body, code, param, message] of cases) {
    it(`${name} → ${code} naming ${param}, nothing written`, async () => {
      const before = [await countRows(fx.platform, 'payments'), await countRows(fx.platform, 'idempotency_keys')];
      const res = await post(fx.platform, fx.tenant.token, '/v1/payments', body);
      assertError(res, 400, code, param);
      assert.match(res.body.error.message, message);
      assert.deepEqual([await countRows(fx.platform, 'payments'), await countRows(fx.platform, 'idempotency_keys')], before);
    });
  }

  it('a query integer out of range, a boolean given a string, an array listing a value twice', async () => {
    assertError(await fx.platform.request('GET', '/v1/payments?limit=101', { token: fx.tenant.token }), 400, 'parameter_out_of_range', 'limit');
    assertError(await fx.platform.request('GET', '/v1/payments?limit=ten', { token: fx.tenant.token }), 400, 'parameter_invalid_integer', 'limit');
    const update = (body: unknown) => fx.platform.request('POST', `/v1/webhook_endpoints/${hooks.endpointId}`, { token: fx.tenant.token, body });
    assertError(await update({ disabled: 'yes' }), 400, 'parameter_invalid_boolean', 'disabled');
    assertError(await update({ enabled_events: ['*', '*'] }), 400, 'parameter_invalid_array', 'enabled_events');
    assertError(await update({ enabled_events: '*' }), 400, 'parameter_invalid_array', 'enabled_events');
    const empty = await update({});
    assertError(empty, 400, 'parameter_missing');
    assert.match(empty.body.error.message, /at least 1 parameter/);
  });

  it('"amount": 20.00 (or 2e3, or exp_month 12.0) is not an integer: 400, and nothing is written', async () => {
    const raw = (json: string) => fx.platform.request('POST', '/v1/payments', {
      token: fx.tenant.token, rawBody: json, headers: { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` },
    });
    const valid = JSON.stringify(cardBody(CARDS.visa));
    const before = [await countRows(fx.platform, 'payments'), await countRows(fx.platform, 'idempotency_keys'), await countRows(fx.platform, 'events')];
    const twenty = await raw(valid.replace('"amount":2000', '"amount":20.00'));
    assertError(twenty, 400, 'parameter_invalid_integer', 'amount');
    assert.match(twenty.body.error.message, /not 20\.00/);
    assertError(await raw(valid.replace('"amount":2000', '"amount":2e3')), 400, 'parameter_invalid_integer', 'amount');
    assertError(await raw(valid.replace('"amount":2000', '"amount": 2000.0 ')), 400, 'parameter_invalid_integer', 'amount');
    assertError(await raw(valid.replace('"exp_month":12', '"exp_month":12.0')), 400, 'parameter_invalid_integer', 'payment_method[card][exp_month]');
    assert.deepEqual([await countRows(fx.platform, 'payments'), await countRows(fx.platform, 'idempotency_keys'), await countRows(fx.platform, 'events')], before);
    // capture and refund amounts too (every money-moving body)
    const manual = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const rawTo = (path: string, json: string) => fx.platform.request('POST', path, {
      token: fx.tenant.token, rawBody: json, headers: { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` },
    });
    assertError(await rawTo(`/v1/payments/${manual.body.id}/capture`, '{"amount":10.00}'), 400, 'parameter_invalid_integer', 'amount');
    const still = await fx.platform.request('GET', `/v1/payments/${manual.body.id}`, { token: fx.tenant.token });
    assert.equal(still.body.status, 'requires_capture', 'nothing captured');
    const captured = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa));
    const refundsBefore = await countRows(fx.platform, 'refunds');
    assertError(await rawTo(`/v1/payments/${captured.body.id}/refunds`, '{"amount":1E2}'), 400, 'parameter_invalid_integer', 'amount');
    assert.equal(await countRows(fx.platform, 'refunds'), refundsBefore);
    // a decimal inside a string is text, not a number token
    const text = await raw(JSON.stringify(cardBody(CARDS.visa, { description: 'invoice 20.00 / 2e3', metadata: { 'v1.0': '1.5' } })));
    assert.equal(text.status, 201, text.text);
    assert.equal(text.body.amount, 2000);
  });

  it('bodyless POSTs whose fields are all optional are {}: capture with no body and no Content-Type, cancel with an empty JSON body', async () => {
    const first = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    assert.equal(first.body.status, 'requires_capture');
    const capture = await fx.platform.request('POST', `/v1/payments/${first.body.id}/capture`, { token: fx.tenant.token, headers: { 'idempotency-key': `cap-${first.body.id}` } });
    assert.equal(capture.status, 200, capture.text);
    assert.equal(capture.body.status, 'succeeded');
    assert.equal(capture.body.amount_captured, 2000);
    const second = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const cancel = await fx.platform.request('POST', `/v1/payments/${second.body.id}/cancel`, {
      token: fx.tenant.token, rawBody: '', headers: { 'content-type': 'application/json', 'idempotency-key': `can-${second.body.id}` },
    });
    assert.equal(cancel.status, 200, cancel.text);
    assert.equal(cancel.body.status, 'canceled');
    const rotate = await fx.platform.request('POST', `/v1/webhook_endpoints/${hooks.endpointId}/rotate_secret`, { token: fx.tenant.token });
    assert.equal(rotate.status, 200, rotate.text);
    assert.match(rotate.body.secret, /^whsec_/);
  });

  it('an error stored under an Idempotency-Key replays with its doc_url, even one stored before errors had it', async () => {
    const pay = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const key = `over-${pay.body.id}`;
    const over = await post(fx.platform, fx.tenant.token, `/v1/payments/${pay.body.id}/capture`, { amount: 2001 }, key);
    assertError(over, 400, 'amount_too_large', 'amount');
    assert.match(over.body.error.message, /capturable amount \(2000\)/);
    await ownerQuery(fx.platform, "UPDATE idempotency_keys SET response_body = response_body #- '{error,doc_url}' WHERE key = $1", [key]);
    const [stored] = await ownerQuery<{ body: any }>(fx.platform, 'SELECT response_body AS body FROM idempotency_keys WHERE key = $1', [key]);
    assert.equal(stored!.body.error.doc_url, undefined, 'the stored answer is an old one now');
    const replay = await post(fx.platform, fx.tenant.token, `/v1/payments/${pay.body.id}/capture`, { amount: 2001 }, key);
    assert.equal(replay.status, 400, replay.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.body.error.code, 'amount_too_large');
    assert.equal(replay.body.error.doc_url, `${fx.platform.config.publicUrl}/docs/errors#amount_too_large`);
    assert.equal(replay.body.error.request_id, over.body.error.request_id);
  });

  it('a bodyless POST with required fields names the first missing one', async () => {
    const before = await countRows(fx.platform, 'idempotency_keys');
    const res = await fx.platform.request('POST', '/v1/payments', { token: fx.tenant.token, headers: { 'idempotency-key': 'bodyless-create' } });
    assertError(res, 400, 'parameter_missing', 'amount');
    assert.equal(await countRows(fx.platform, 'idempotency_keys'), before);
    const array = await fx.platform.request('POST', '/v1/payments', { token: fx.tenant.token, rawBody: '[]', headers: { 'content-type': 'application/json', 'idempotency-key': 'array-create' } });
    assertError(array, 400, 'parameter_invalid_object');
  });

  it('doc_url on the framework paths: an unknown route (404) and a wrong method (405)', async () => {
    assertError(await fx.platform.request('GET', '/v1/nope', { token: fx.tenant.token }), 404, 'route_not_found');
    const wrongMethod = await fx.platform.request('PUT', '/v1/payments', { token: fx.tenant.token });
    assertError(wrongMethod, 405, 'method_not_allowed');
    assert.match(wrongMethod.headers.get('allow') ?? '', /GET/);
  });
});
