import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CARDS, cardBody, countRows, post } from '../payments/helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';
import { useTenantPlatform } from '../helpers/tenant-platform.js';

describe('faults: the processor fails every request', () => {
  const fx = useTenantPlatform();

  it('payments fail with processing_error, then the circuit opens: new payments fail fast with 503 and nothing written', async () => {
    await sandboxControl(fx.platform, { error_rate: 1 });
    try {
      let opened = false;
      for (let i = 0; i < 10 && !opened; i++) {
        const res = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa));
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
      const metrics = await fx.platform.request('GET', '/metrics');
      assert.match(metrics.text, /^nimbuspay_processor_circuit_state\{[^}]*\} 2$/m);
      assert.match(metrics.text, /^nimbuspay_payments_total\{[^}]*status="failed",failure_code="processing_error"[^}]*\} [1-9]/m);

      const before = [await countRows(fx.platform, 'payments'), await countRows(fx.platform, 'idempotency_keys'), await countRows(fx.platform, 'events')];
      const key = 'circuit-open-retry-key';
      const res = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa), key);
      assert.equal(res.status, 503);
      assert.deepEqual([await countRows(fx.platform, 'payments'), await countRows(fx.platform, 'idempotency_keys'), await countRows(fx.platform, 'events')], before,
        'nothing half-written, and the key is released so the client can retry it');
    } finally {
      await sandboxControl(fx.platform, { error_rate: 0 });
    }
  });

  it('once the processor is back, a trial payment goes through after the half-open delay and the circuit closes', async () => {
    // The circuit is open from the previous case; answers are 503 until the delay (10 s) has passed.
    const succeeded = await eventually(async () => {
      const res = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa));
      if (res.status === 503) return undefined;
      assert.equal(res.status, 201, res.text);
      return res.body;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(succeeded.status, 'succeeded');
    const metrics = await fx.platform.request('GET', '/metrics');
    assert.match(metrics.text, /^nimbuspay_processor_circuit_state\{[^}]*\} 0$/m);
    const next = await post(fx.platform, fx.tenant.token, '/v1/payments', cardBody(CARDS.visa));
    assert.equal(next.status, 201, next.text);
    assert.equal(next.body.status, 'succeeded');
  });
});
