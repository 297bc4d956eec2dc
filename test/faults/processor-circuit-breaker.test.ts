import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, countRows, post } from '../payments/helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

describe('faults: the processor fails every request', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
  });
  after(async () => platform.close());

  it('payments fail with processing_error, then the circuit opens: new payments fail fast with 503 and nothing written', async () => {
    await sandboxControl(platform, { error_rate: 1 });
    try {
      let opened = false;
      for (let i = 0; i < 10 && !opened; i++) {
        const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
        if (res.status === 503) {
          opened = true;
          assert.equal(res.body.error.code, 'processor_unavailable');
          assert.match(res.body.error.message, /nothing was charged/);
        } else {
          assert.equal(res.status, 201, res.text);
          assert.equal(res.body.status, 'failed');
          assert.equal(res.body.failure_code, 'processing_error');
        }
      }
      assert.ok(opened, 'the circuit opened after consecutive failures');
      const metrics = await platform.request('GET', '/metrics');
      assert.match(metrics.text, /^nimbuspay_processor_circuit_state\{[^}]*\} 2$/m);
      assert.match(metrics.text, /^nimbuspay_payments_total\{[^}]*status="failed",failure_code="processing_error"[^}]*\} [1-9]/m);

      const before = [await countRows(platform, 'payments'), await countRows(platform, 'idempotency_keys'), await countRows(platform, 'events')];
      const key = 'circuit-open-retry-key';
      const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
      assert.equal(res.status, 503);
      assert.deepEqual([await countRows(platform, 'payments'), await countRows(platform, 'idempotency_keys'), await countRows(platform, 'events')], before,
        'nothing half-written, and the key is released so the client can retry it');
    } finally {
      await sandboxControl(platform, { error_rate: 0 });
    }
  });

  it('once the processor is back, a trial payment goes through after the half-open delay and the circuit closes', async () => {
    // The circuit is open from the previous case; answers are 503 until the delay (10 s) has passed.
    const succeeded = await eventually(async () => {
      const res = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
      if (res.status === 503) return undefined;
      assert.equal(res.status, 201, res.text);
      return res.body;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(succeeded.status, 'succeeded');
    const metrics = await platform.request('GET', '/metrics');
    assert.match(metrics.text, /^nimbuspay_processor_circuit_state\{[^}]*\} 0$/m);
    const next = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa));
    assert.equal(next.status, 201, next.text);
    assert.equal(next.body.status, 'succeeded');
  });
});
