import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { roleProcessEnv, type TestPlatform } from '../helpers/platform.js';
import { CARDS, cardBody, ownerQuery, waitForPaymentStatus } from '../payments/helpers.js';
import { Launcher, type StartedProcess } from '../helpers/launcher.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';
import { useTenantPlatform } from '../helpers/tenant-platform.js';


/** Every API process this file started; the after hook stops them whatever happened. */
const apis = new Launcher();

/** The API role as its own OS process (as in Kubernetes), so it can be killed with SIGKILL mid-request. */
async function startApi(platform: TestPlatform): Promise<StartedProcess<'api'>> {
  return apis.start({
    name: 'api',
    command: 'api',
    ports: ['api'],
    env: (ports) => roleProcessEnv(platform, { PORT: String(ports.api), PROCESSOR_TIMEOUT_MS: '4000' }),
    ready: (ports) => ({ url: `http://127.0.0.1:${ports.api}/readyz` }),
  });
}

describe('faults: a process killed between the two transactions of a payment', () => {
  const fx = useTenantPlatform({
    beforeClose: async () => {
      await apis.stopAll({ signal: 'SIGKILL' });
    },
  });

  it('API killed with SIGKILL while the processor call is in flight: the reconciler converges the payment to succeeded, charged once', async () => {
    const api = await startApi(fx.platform);
    await sandboxControl(fx.platform, { latency_ms: 2500 });
    try {
      const key = randomUUID();
      const request = fetch(`http://127.0.0.1:${api.ports.api}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fx.tenant.token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(cardBody(CARDS.visa)),
      }).catch((err: unknown) => err);
      // transaction 1 committed: the payment exists, processing, with an open attempt at the processor
      const [row] = await eventually(async () => {
        const rows = await ownerQuery<{ id: string }>(fx.platform, "SELECT id FROM payments WHERE idempotency_key = $1 AND status = 'processing'", [key]);
        return rows.length ? rows : undefined;
      }, { timeoutMs: 15_000 });
      // and the processor has received the authorization in full (held by the added latency): kill now
      await eventually(async () => {
        const knobs = await sandboxControl(fx.platform);
        return knobs.held_requests > 0 || undefined;
      }, { timeoutMs: 15_000, intervalMs: 10 });
      await api.kill9();
      assert.ok((await request) instanceof Error, 'the client lost its answer');
      // the parked authorization still executes at the processor; later lookups must not be slowed down
      await sandboxControl(fx.platform, { latency_ms: 0 });

      await fx.platform.startWorker();
      const done = await waitForPaymentStatus(fx.platform, fx.tenant.token, row!.id, 'succeeded', 45_000);
      assert.equal(done.amount_captured, 2000);
      assert.equal(done.attempts.length, 1);
      assert.ok(done.attempts[0].reconcile_count >= 1);
      const events = await ownerQuery<{ type: string }>(fx.platform, 'SELECT type FROM events WHERE object_id = $1 ORDER BY id', [row!.id]);
      assert.deepEqual(events.map((e) => e.type), ['payment.processing', 'payment.succeeded']);

      // the client retries with the same key on a healthy API: the same payment, no second charge
      await sandboxControl(fx.platform, { latency_ms: 0 });
      // (409 idempotency_key_in_use until the dead request's lease expires, as a client honouring Retry-After sees it)
      const retry = await eventually(async () => {
        const res = await fx.platform.request('POST', '/v1/payments', { token: fx.tenant.token, body: cardBody(CARDS.visa), headers: { 'idempotency-key': key } });
        if (res.status === 409) assert.equal(res.body.error.code, 'idempotency_key_in_use');
        return res.status === 409 ? undefined : res;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      assert.equal(retry.status, 201, retry.text);
      assert.equal(retry.body.id, row!.id);
      assert.equal(retry.body.status, 'succeeded');
      const count = await ownerQuery<{ n: number }>(fx.platform, 'SELECT count(*)::int AS n FROM payment_attempts WHERE payment_id = $1', [row!.id]);
      assert.equal(count[0]!.n, 1);
    } finally {
      await api.kill9();
      await sandboxControl(fx.platform, { latency_ms: 0 });
    }
  });

  it('the processor stops answering: payments stay processing (never failed on a guess) and converge once it is back', async () => {
    await fx.platform.startWorker();
    await sandboxControl(fx.platform, { stop_answering: true });
    let id: string;
    try {
      const res = await fx.platform.request('POST', '/v1/payments', { token: fx.tenant.token, body: cardBody(CARDS.visa), headers: { 'idempotency-key': randomUUID() } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.status, 'processing');
      id = res.body.id;
      // The reconciler has asked the silent processor about it (and got no answer): still processing, not guessed.
      await eventually(async () => {
        const [attempt] = await ownerQuery<{ reconcile_count: number }>(fx.platform, 'SELECT reconcile_count FROM payment_attempts WHERE payment_id = $1', [id]);
        return attempt && attempt.reconcile_count >= 1 ? true : undefined;
      }, { timeoutMs: 30_000 });
      const still = await fx.platform.request('GET', `/v1/payments/${id}`, { token: fx.tenant.token });
      assert.equal(still.body.status, 'processing');
    } finally {
      await sandboxControl(fx.platform, { stop_answering: false });
    }
    const done = await waitForPaymentStatus(fx.platform, fx.tenant.token, id, 'succeeded', 30_000);
    assert.equal(done.amount_captured, 2000);
  });
});
