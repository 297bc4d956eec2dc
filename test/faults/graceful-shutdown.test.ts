import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery } from '../payments/helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

describe('faults: SIGTERM-style shutdown of the API while a payment is at the processor', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
  });
  after(async () => platform.close());

  it('the API closes only after in-flight handlers recorded their outcome, even when the client hung up', async () => {
    await sandboxControl(platform, { latency_ms: 600 });
    const key = randomUUID();
    const abort = new AbortController();
    const request = fetch(`${platform.baseUrl}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(cardBody(CARDS.visa)),
      signal: abort.signal,
    }).catch((err: unknown) => err);
    await eventually(async () => {
      const rows = await ownerQuery<{ id: string }>(platform, "SELECT id FROM payments WHERE idempotency_key = $1", [key]);
      return rows.length ? rows : undefined;
    }, { timeoutMs: 15_000 });
    abort.abort();
    await request;
    await platform.api.close();
    const rows = await ownerQuery<{ status: string; answered: string }>(platform,
      "SELECT p.status, k.state AS answered FROM payments p JOIN idempotency_keys k ON k.tenant_id = p.tenant_id AND k.key = p.idempotency_key WHERE p.idempotency_key = $1", [key]);
    assert.equal(rows[0]!.status, 'succeeded', 'transaction 2 committed before the API finished closing');
    assert.equal(rows[0]!.answered, 'completed');
    await sandboxControl(platform, { latency_ms: 0 });
  });
});
