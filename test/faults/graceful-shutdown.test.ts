import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CARDS, cardBody, ownerQuery } from '../payments/helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';
import { useTenantPlatform } from '../helpers/tenant-platform.js';

describe('faults: SIGTERM-style shutdown of the API while a payment is at the processor', () => {
  const fx = useTenantPlatform();

  it('the API closes only after in-flight handlers recorded their outcome, even when the client hung up', async () => {
    await sandboxControl(fx.platform, { latency_ms: 600 });
    const key = randomUUID();
    const abort = new AbortController();
    const request = fetch(`${fx.platform.baseUrl}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.tenant.token}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(cardBody(CARDS.visa)),
      signal: abort.signal,
    }).catch((err: unknown) => err);
    await eventually(async () => {
      const rows = await ownerQuery<{ id: string }>(fx.platform, "SELECT id FROM payments WHERE idempotency_key = $1", [key]);
      return rows.length ? rows : undefined;
    }, { timeoutMs: 15_000 });
    abort.abort();
    await request;
    await fx.platform.api.close();
    const rows = await ownerQuery<{ status: string; answered: string }>(fx.platform,
      "SELECT p.status, k.state AS answered FROM payments p JOIN idempotency_keys k ON k.tenant_id = p.tenant_id AND k.key = p.idempotency_key WHERE p.idempotency_key = $1", [key]);
    assert.equal(rows[0]!.status, 'succeeded', 'transaction 2 committed before the API finished closing');
    assert.equal(rows[0]!.answered, 'completed');
    await sandboxControl(fx.platform, { latency_ms: 0 });
  });
});
