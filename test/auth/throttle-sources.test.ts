import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';

// Behind one trusted proxy (the ALB), as in staging and production.
describe('client authentication throttling is per client and source address', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  before(async () => {
    platform = await startTestPlatform({ env: { TRUST_PROXY_HOPS: '1' } });
    tenant = await createTenant(platform);
  });
  after(async () => platform.close());

  const tokenFrom = (forwardedFor: string, secret: string, clientId = tenant.clientId) =>
    fetch(`${platform.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-for': forwardedFor,
      },
      body: 'grant_type=client_credentials',
    });

  it('failures from one address lock that address only; a spoofed left-most X-Forwarded-For entry does not escape the lock', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await tokenFrom('203.0.113.7', 'wrong-secret')).status, 401);
    const locked = await tokenFrom('203.0.113.7', tenant.clientSecret);
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    // the proxy appends the real peer; whatever the client put in front of it is not trusted
    assert.equal((await tokenFrom('198.51.100.1, 203.0.113.7', tenant.clientSecret)).status, 429);
    // the legitimate integration, elsewhere, is not locked out by someone else's failures
    const elsewhere = await tokenFrom('192.0.2.44', tenant.clientSecret);
    assert.equal(elsewhere.status, 200, await elsewhere.text());
  });

  /**
   * A request as a well-behaved client sends it: a 429 that says the endpoint is busy (work refused before anything
   * was reserved or verified) is retried after its Retry-After; any other answer is returned with its body read.
   */
  const settled = async (send: () => Promise<Response>): Promise<{ status: number; headers: Headers; body: { error?: string; error_description?: string } }> => {
    for (;;) {
      const res = await send();
      const body = (await res.json()) as { error?: string; error_description?: string };
      if (res.status === 429 && /busy/.test(body.error_description ?? '')) {
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000));
        continue;
      }
      return { status: res.status, headers: res.headers, body };
    }
  };

  const tokenRequestsCounted = async (outcome: string): Promise<number> => {
    const text = await (await fetch(`${platform.api.metricsUrl}`)).text();
    const m = new RegExp(`^nimbuspay_token_requests_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };

  it('40 parallel wrong secrets for one client from one address: exactly 5 are verified, the other 35 are refused unverified', async () => {
    const source = '203.0.113.50';
    const verifiedBefore = await tokenRequestsCounted('invalid_client');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => settled(() => tokenFrom(source, `ncs_guess_${i}`))));
    const statuses = answers.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 35, statuses.join(','));
    for (const r of answers.filter((a) => a.status === 429)) {
      assert.ok(Number(r.headers.get('retry-after')) > 0);
      assert.deepEqual(r.body, { error: 'slow_down', error_description: 'Too many failed authentications for this client from this address; retry later.' });
    }
    assert.equal(await tokenRequestsCounted('invalid_client') - verifiedBefore, 5, 'secrets verified and refused');
    const row = await platform.database.db.selectFrom('client_auth_failures').select('failures')
      .where('client_id', '=', tenant.clientId).where('source', '=', source).executeTakeFirstOrThrow();
    assert.equal(row.failures, 5);
    assert.equal((await settled(() => tokenFrom(source, tenant.clientSecret))).status, 429, 'the right secret waits for the lock too');
    assert.equal((await settled(() => tokenFrom('192.0.2.80', tenant.clientSecret))).status, 200, 'the client from elsewhere is unaffected');
  });

  it('one address spraying random client ids: 100 failures, then 429 for every id from it, before any hash work; other addresses unaffected', async () => {
    const source = '203.0.113.99';
    const answers = await Promise.all(Array.from({ length: 120 }, () => settled(() => tokenFrom(source, 'ncs_x', `client_${randomBytes(8).toString('hex')}`))));
    const statuses = answers.map((r) => r.status);
    // reserved atomically: parallel requests cannot slip past the limit either
    assert.equal(statuses.filter((s) => s === 401).length, 100, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 20, statuses.join(','));
    for (const r of answers.filter((a) => a.status === 429)) assert.match(r.body.error_description ?? '', /from this address/);
    const locked = await settled(() => tokenFrom(source, tenant.clientSecret));
    assert.equal(locked.status, 429, 'a valid client behind the same address waits too');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    assert.deepEqual(locked.body, { error: 'slow_down', error_description: 'Too many failed authentications from this address; retry later.' });
    const elsewhere = await settled(() => tokenFrom('192.0.2.81', tenant.clientSecret));
    assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
  });
});
