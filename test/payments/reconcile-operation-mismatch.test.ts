import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, post } from './helpers.js';
import { createProcessor, keyRingFor, paymentsDeps } from '../../src/main/modules.js';
import { reconcileAttempt } from '../../src/modules/payments/payments-reconciler.js';
import { listAttempts } from '../../src/modules/payments/payments.repository.js';
import type { OperationLookup, OperationStatusResult, ProcessorAdapter } from '../../src/modules/processors/index.js';
import { withTenantTx } from '../../src/platform/db.js';
import { createMetrics } from '../../src/platform/metrics.js';

// The reconciler asks the processor what it recorded under an attempt's key. An answer for another operation (here a
// void's approval for an authorization) must never be applied: the attempt stays open and the mismatch is logged.
// No worker runs in this file, so only the calls below reconcile.

describe('reconciler: an answer for another operation is logged and not applied', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let processor: ProcessorAdapter;

  before(async () => {
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
    processor = createProcessor(platform.config, platform.logger, createMetrics({ role: 'worker', collectDefaults: false }));
  });
  after(async () => {
    await processor?.close();
    await platform?.close();
  });

  function depsWith(adapter: ProcessorAdapter) {
    const metrics = createMetrics({ role: 'worker', collectDefaults: false });
    const moduleDeps = { config: platform.config, logger: platform.logger, db: platform.database.db, metrics };
    return paymentsDeps(moduleDeps, keyRingFor(platform.config), adapter);
  }

  async function paymentWithAttempts(id: string): Promise<{ status: string; attempts: Array<{ status: string; completed_at: string | null }> }> {
    const res = await platform.request('GET', `/v1/payments/${id}?expand=attempts`, { token: tenant.token });
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  it('leaves the authorization open on a void answer, then applies the real answer', async () => {
    // approved and recorded by the sandbox, but its answer arrives after our timeout: the outcome is unknown
    const created = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.lostResponse));
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'processing');
    const paymentId = created.body.id as string;
    const [attempt] = await withTenantTx(platform.database.db, tenant.tenantId, (tx) => listAttempts(tx, tenant.tenantId, paymentId));
    assert.ok(attempt);
    assert.equal(attempt.operation, 'authorize');

    const lookups: OperationStatusResult[] = [];
    const answeringAnotherOperation = new Proxy(processor, {
      get(target, name, receiver) {
        if (name !== 'getOperationStatus') return Reflect.get(target, name, receiver) as unknown;
        return async (lookup: OperationLookup): Promise<OperationStatusResult> => {
          lookups.push(await target.getOperationStatus(lookup));
          return { kind: 'found', operation: 'void', outcome: { kind: 'approved', processorReference: 'auth_of_another_operation' } };
        };
      },
    });
    await reconcileAttempt(depsWith(answeringAnotherOperation), attempt);

    assert.equal(lookups.length, 1);
    assert.equal(lookups[0]?.kind, 'found', 'the processor did record the authorization: only the operation differs');
    const untouched = await paymentWithAttempts(paymentId);
    assert.equal(untouched.status, 'processing');
    assert.equal(untouched.attempts.length, 1);
    assert.ok(['pending', 'unknown'].includes(untouched.attempts[0]?.status ?? ''), untouched.attempts[0]?.status);
    assert.equal(untouched.attempts[0]?.completed_at, null);
    const logged = platform.logs.records().filter((r) => r.attempt_id === attempt.id && r.msg === 'processor recorded another operation under this attempt; not applied');
    assert.equal(logged.length, 1, 'the mismatch is logged once');
    assert.equal(logged[0]?.recorded_operation, 'void');
    assert.equal(logged[0]?.operation, 'authorize');

    // the same attempt, reconciled against the processor's true answer, completes: the refusal above was the check
    await reconcileAttempt(depsWith(processor), attempt);
    const done = await paymentWithAttempts(paymentId);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts[0]?.status, 'succeeded');
  });
});
