import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ownerQuery } from '../payments/helpers.js';
import { WEBHOOK_LISTENER_APPLICATION_NAME } from '../../src/modules/webhooks/index.js';
import { createEndpoint, emitEvent, startReceiver, waitUntil, type Receiver } from './helpers.js';

// The worker polls this rarely, so a delivery that arrives well before it was woken by NOTIFY.
const POLL_INTERVAL_MS = 60_000;
// Generous for a busy machine, and still far below the poll interval.
const NOTIFY_DEADLINE_MS = 20_000;

let platform: TestPlatform;
let tenant: TestTenant;
let receiver: Receiver;
let endpointId: string;

before(async () => {
  platform = await startTestPlatform({ env: { WORKER_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) } });
  await platform.startWorker();
  tenant = await createTenant(platform);
  receiver = await startReceiver();
  endpointId = (await createEndpoint(platform, tenant.token, { url: receiver.url })).id;
});
after(async () => {
  await receiver?.close();
  await platform?.close();
});

/** The backend of the worker's LISTEN connection once the LISTEN is in place. */
async function listenerPid(): Promise<number | undefined> {
  const rows = await ownerQuery<{ pid: number }>(platform,
    `SELECT pid FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = $1 AND query ILIKE 'LISTEN%' AND state = 'idle'`,
    [WEBHOOK_LISTENER_APPLICATION_NAME]);
  return rows[0]?.pid;
}

async function deliveryStatus(eventId: string): Promise<string | undefined> {
  const rows = await ownerQuery<{ status: string }>(platform, 'SELECT status FROM webhook_deliveries WHERE event_id = $1 AND endpoint_id = $2', [eventId, endpointId]);
  return rows[0]?.status;
}

/**
 * Delivers one event and waits until its outcome is recorded. After that round the dispatcher has nothing in
 * flight and waits for the next wake-up, which only a notification or the 60 s poll can give: the next event
 * tells the two apart.
 */
async function settle(): Promise<void> {
  const eventId = await emitEvent(platform, tenant.tenantId);
  await receiver.waitFor((reqs) => reqs.some((q) => q.headers['webhook-id'] === eventId), 30_000);
  await waitUntil(async () => (await deliveryStatus(eventId)) === 'succeeded', 30_000, 'settling delivery recorded');
}

/** Emits an event and answers how long its delivery took; fails if it had to wait for the poll. */
async function deliveredByNotify(): Promise<number> {
  const emittedAt = Date.now();
  const eventId = await emitEvent(platform, tenant.tenantId);
  await receiver.waitFor((reqs) => reqs.some((q) => q.headers['webhook-id'] === eventId), NOTIFY_DEADLINE_MS);
  return receiver.requests.find((q) => q.headers['webhook-id'] === eventId)!.receivedAt - emittedAt;
}

describe('delivery wake-up by LISTEN/NOTIFY', () => {
  it('delivers a new event at once while the poll interval is 60 s', async (t) => {
    await waitUntil(listenerPid, 30_000, 'listener connected');
    await settle();
    const ms = await deliveredByNotify();
    t.diagnostic(`delivered ${ms} ms after the event was emitted (poll interval ${POLL_INTERVAL_MS} ms)`);
  });

  it('reconnects after its connection is terminated, and deliveries are woken by NOTIFY again', async (t) => {
    const first = await waitUntil(listenerPid, 30_000, 'listener connected');
    const [terminated] = await ownerQuery<{ ok: boolean }>(platform, 'SELECT pg_terminate_backend($1) AS ok', [first]);
    assert.equal(terminated?.ok, true);
    const second = await waitUntil(async () => {
      const pid = await listenerPid();
      return pid !== undefined && pid !== first ? pid : undefined;
    }, 30_000, 'listener reconnected');
    assert.notEqual(second, first);
    // the settling delivery may still be found by the short poll the worker falls back to while disconnected
    await settle();
    const ms = await deliveredByNotify();
    t.diagnostic(`after reconnection: delivered ${ms} ms after the event was emitted`);
  });

  it('a manual retry wakes the worker too', async () => {
    receiver.respond((_req, res) => { res.writeHead(400).end('no'); });
    const eventId = await emitEvent(platform, tenant.tenantId);
    // 1 + 4 attempts with the test schedule (50..400 ms): retries are due by the clock, found by the worker's timer
    await waitUntil(async () => (await deliveryStatus(eventId)) === 'failed', 30_000, 'delivery failed');
    receiver.respond((_req, res) => { res.writeHead(200).end('ok'); });
    await settle();
    const [row] = await ownerQuery<{ id: string }>(platform, 'SELECT id FROM webhook_deliveries WHERE event_id = $1', [eventId]);
    const res = await platform.request('POST', `/v1/webhook_deliveries/${row!.id}/retry`, { token: tenant.token });
    assert.equal(res.status, 200, res.text);
    await receiver.waitFor((reqs) => reqs.filter((q) => q.headers['webhook-id'] === eventId).length === 6, NOTIFY_DEADLINE_MS);
  });

  it('stopping the worker does not wait out the poll interval', async () => {
    const worker = await platform.startWorker();
    await waitUntil(async () => (await ownerQuery<{ n: number }>(platform,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND query ILIKE 'LISTEN%'`,
      [WEBHOOK_LISTENER_APPLICATION_NAME]))[0]!.n === 2, 30_000, 'second listener connected');
    const startedAt = Date.now();
    await worker.close();
    assert.ok(Date.now() - startedAt < NOTIFY_DEADLINE_MS, `the worker stopped in ${Date.now() - startedAt} ms`);
    await waitUntil(async () => (await ownerQuery<{ n: number }>(platform,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
      [WEBHOOK_LISTENER_APPLICATION_NAME]))[0]!.n === 1, 10_000, 'its listener connection closed');
  });
});
