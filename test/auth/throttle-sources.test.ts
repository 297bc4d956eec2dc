import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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

  const tokenFrom = (forwardedFor: string, secret: string) =>
    fetch(`${platform.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${tenant.clientId}:${secret}`).toString('base64')}`,
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
});
