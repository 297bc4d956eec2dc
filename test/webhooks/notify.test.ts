import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { newId } from '../../src/platform/ids.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ownerQuery } from '../payments/helpers.js';
import { WEBHOOK_LISTENER_APPLICATION_NAME } from '../../src/modules/webhooks/index.js';
import { createEndpoint, emitEvent, startReceiver, type Receiver } from './helpers.js';
import { eventually } from '../helpers/eventually.js';

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

async function sleepingDispatchers(): Promise<number> {
  return (await ownerQuery<{ n: number }>(platform, 'SELECT count(*)::int AS n FROM webhook_dispatcher_sleepers WHERE until > now()'))[0]!.n;
}

/**
 * Delivers one event and waits until its outcome is recorded and the dispatcher went to sleep (registered for
 * notifications, after its short awake window). It then waits for the next wake-up, which only a notification or
 * the 60 s poll can give: the next event tells the two apart.
 */
async function settle(): Promise<void> {
  const eventId = await emitEvent(platform, tenant.tenantId);
  await receiver.waitFor((reqs) => reqs.some((q) => q.headers['webhook-id'] === eventId), 30_000);
  await eventually(async () => (await deliveryStatus(eventId)) === 'succeeded', { timeoutMs: 30_000, what: 'settling delivery recorded' });
  await eventually(async () => (await sleepingDispatchers()) > 0, { timeoutMs: 30_000, what: 'dispatcher asleep, registered for notifications' });
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
    await eventually(listenerPid, { timeoutMs: 30_000, what: 'listener connected' });
    await settle();
    const ms = await deliveredByNotify();
    t.diagnostic(`delivered ${ms} ms after the event was emitted (poll interval ${POLL_INTERVAL_MS} ms)`);
  });

  it('reconnects after its connection is terminated, and deliveries are woken by NOTIFY again', async (t) => {
    const first = await eventually(listenerPid, { timeoutMs: 30_000, what: 'listener connected' });
    const [terminated] = await ownerQuery<{ ok: boolean }>(platform, 'SELECT pg_terminate_backend($1) AS ok', [first]);
    assert.equal(terminated?.ok, true);
    const second = await eventually(async () => {
      const pid = await listenerPid();
      return pid !== undefined && pid !== first ? pid : undefined;
    }, { timeoutMs: 30_000, what: 'listener reconnected' });
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
    await eventually(async () => (await deliveryStatus(eventId)) === 'failed', { timeoutMs: 30_000, what: 'delivery failed' });
    receiver.respond((_req, res) => { res.writeHead(200).end('ok'); });
    await settle();
    const [row] = await ownerQuery<{ id: string }>(platform, 'SELECT id FROM webhook_deliveries WHERE event_id = $1', [eventId]);
    const res = await platform.request('POST', `/v1/webhook_deliveries/${row!.id}/retry`, { token: tenant.token });
    assert.equal(res.status, 200, res.text);
    await receiver.waitFor((reqs) => reqs.filter((q) => q.headers['webhook-id'] === eventId).length === 6, NOTIFY_DEADLINE_MS);
  });

  it('stopping the worker does not wait out the poll interval', async () => {
    const worker = await platform.startWorker();
    await eventually(async () => (await ownerQuery<{ n: number }>(platform,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND query ILIKE 'LISTEN%'`,
      [WEBHOOK_LISTENER_APPLICATION_NAME]))[0]!.n === 2, { timeoutMs: 30_000, what: 'second listener connected' });
    const startedAt = Date.now();
    await worker.close();
    assert.ok(Date.now() - startedAt < NOTIFY_DEADLINE_MS, `the worker stopped in ${Date.now() - startedAt} ms`);
    await eventually(async () => (await ownerQuery<{ n: number }>(platform,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
      [WEBHOOK_LISTENER_APPLICATION_NAME]))[0]!.n === 1, { timeoutMs: 10_000, what: 'its listener connection closed' });
  });
});

describe('producers notify only while a dispatcher sleeps (each notifying commit waits on a global lock)', () => {
  it('a fan-out notifies with a registered sleeper, and not without one or with an expired one', async (t) => {
    const listener = new pg.Client({ connectionString: platform.db.ownerUrl });
    await listener.connect();
    t.after(() => listener.end());
    const received: string[] = [];
    listener.on('notification', (n) => received.push(n.channel));
    await listener.query('LISTEN webhook_deliveries');
    await listener.query('LISTEN nimbuspay_test_marker');

    /** One transaction that sets the sleepers table as given and fans an event out; the notifications it caused. */
    async function fanOut(sleeper: 'none' | 'expired' | 'registered'): Promise<number> {
      const client = new pg.Client({ connectionString: platform.db.ownerUrl });
      await client.connect();
      try {
        // one snapshot for the whole transaction: the trigger sees exactly the sleepers this transaction left
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await client.query('DELETE FROM webhook_dispatcher_sleepers');
        if (sleeper !== 'none') {
          await client.query(`INSERT INTO webhook_dispatcher_sleepers (dispatcher_id, until) VALUES ('test', now() + $1::interval)`,
            [sleeper === 'registered' ? '1 minute' : '-1 second']);
        }
        await client.query(`SELECT record_event($1, $2, 'payment.succeeded', 'payment', $3, '{"object": {}}')`, [tenant.tenantId, newId('event'), newId('payment')]);
        const inserted = await client.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = $2', [endpointId, 'pending']);
        assert.ok(inserted.rows[0].n > 0, 'the fan-out inserted a delivery');
        const before = received.length;
        await client.query('COMMIT');
        // Notifications reach a listener in commit order: once the marker sent after our commit is in, any
        // notification of our commit is in too.
        await client.query(`SELECT pg_notify('nimbuspay_test_marker', '')`);
        await eventually(async () => received.slice(before).includes('nimbuspay_test_marker'), { timeoutMs: 10_000, what: 'marker received' });
        return received.slice(before).filter((c) => c === 'webhook_deliveries').length;
      } finally {
        await client.end();
      }
    }
    assert.equal(await fanOut('none'), 0, 'nobody asleep: no notification');
    assert.equal(await fanOut('expired'), 0, 'an expired registration (a dispatcher that died): no notification');
    assert.equal(await fanOut('registered'), 1, 'a sleeping dispatcher is notified once for the statement');
  });
});
