import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { roleProcessEnv, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { createEndpoint, emitEvent, startReceiver, type Receiver } from '../webhooks/helpers.js';
import { ownerQuery } from '../payments/helpers.js';
import { Launcher } from '../helpers/launcher.js';
import { eventually } from '../helpers/eventually.js';

/** Long enough that a busy machine's stall does not time a loopback delivery out (a retry would be a second send). */
const TIMEOUT_MS = 5_000;

/** Every worker process this file started; the after hook stops them whatever happened. */
const workers = new Launcher();

/** `nimbuspay worker` as its own OS process against the test database, as replicas run in Kubernetes. */
async function startWorker(platform: TestPlatform): Promise<void> {
  await workers.start({
    name: 'worker',
    command: 'worker',
    ports: ['health'],
    env: (ports) => roleProcessEnv(platform, {
      HEALTH_PORT: String(ports.health),
      WORKER_POLL_INTERVAL_MS: '20',
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_RETRY_SCHEDULE_MS: '100,200,400,800,1600',
    }),
    ready: (ports) => ({ url: `http://127.0.0.1:${ports.health}/readyz` }),
  });
}

describe('faults: webhook workers as separate processes', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let receiver: Receiver;
  before(async () => {
    platform = await startTestPlatform();
    receiver = await startReceiver();
    tenant = await createTenant(platform);
  });
  after(async () => {
    await workers.stopAll({ signal: 'SIGKILL' });
    await receiver?.close();
    await platform?.close();
  });

  it('three worker processes deliver each event exactly once, signed; a worker killed mid-delivery is replaced and the event re-sent with the same webhook-id', async () => {
    const endpoint = await createEndpoint(platform, tenant.token, { url: receiver.url });
    const verifier = new Webhook(endpoint.secret);
    await Promise.all([0, 1, 2].map(() => startWorker(platform)));

    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await emitEvent(platform, tenant.tenantId));
    await receiver.waitFor((reqs) => new Set(reqs.map((r) => r.headers['webhook-id'])).size >= ids.length, 60_000);
    // Once every delivery is recorded as succeeded no worker can claim it again, and every send a worker made is an
    // attempt row: one attempt per event means nobody sent one twice (no sleeping while waiting for a duplicate).
    await eventually(async () => (await ownerQuery<{ n: number }>(platform, "SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'succeeded'"))[0]!.n === 0, { timeoutMs: 30_000, what: 'every delivery recorded as succeeded' });
    const [attempts] = await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM webhook_delivery_attempts');
    assert.equal(attempts!.n, ids.length, 'one delivery attempt per event');
    const deliveredIds = receiver.requests.map((r) => r.headers['webhook-id'] as string);
    assert.deepEqual([...deliveredIds].sort(), [...ids].sort(), 'each event once, none lost');
    for (const req of receiver.requests) verifier.verify(req.body, req.headers as Record<string, string>);

    // One delivery hangs at the receiver; the worker holding it is killed; another worker re-sends it once the
    // lease expires, under the same webhook-id.
    receiver.requests.length = 0;
    let hung = false;
    receiver.respond((_req, res) => {
      if (!hung) {
        hung = true; // hold the first request open: its worker dies while waiting
        return;
      }
      res.writeHead(200).end('ok');
    });
    const slowId = await emitEvent(platform, tenant.tenantId);
    await receiver.waitFor((reqs) => reqs.length >= 1, 10_000);
    // whichever worker is sending it, kill them all but keep the platform's ability to deliver: start a fresh one
    await workers.stopAll({ signal: 'SIGKILL' });
    await startWorker(platform);
    await receiver.waitFor((reqs) => reqs.length >= 2, 60_000);
    assert.equal(receiver.requests[0]!.headers['webhook-id'], slowId);
    assert.equal(receiver.requests[1]!.headers['webhook-id'], slowId, 'the retry carries the same webhook-id');
    verifier.verify(receiver.requests[1]!.body, receiver.requests[1]!.headers as Record<string, string>);
  });
});
