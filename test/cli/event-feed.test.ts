import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, getToken, type TestTenant } from '../helpers/tenants.js';
import { emitEvent } from '../webhooks/helpers.js';
import { sql } from 'kysely';
import { withTenantTx } from '../../src/platform/db.js';
import { recordEventAndFanOut } from '../../src/modules/webhooks/index.js';
import { drainHandlers } from '../../src/platform/http/app.js';
import { eventually } from '../helpers/eventually.js';

const START = 'evt_00000000000000000000000000';
let platform: TestPlatform;
let tenant: TestTenant;
let other: TestTenant;
let closed = false;

before(async () => {
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  other = await createTenant(platform, { name: 'Other Corp' });
});
after(async () => {
  if (!closed) await platform.close();
});

interface Feed { object: string; data: Array<{ id: string; type: string; data: { object: Record<string, unknown> } }>; has_more: boolean; next_cursor: string }

async function feed(query: string, token = tenant.token): Promise<Feed> {
  const res = await platform.request('GET', `/v1/events/feed?${query}`, { token });
  assert.equal(res.status, 200, res.text);
  return res.body as Feed;
}

/**
 * The feed opened without a cursor, once its end has caught up with the tenant's last event: the end stays behind
 * an event while a transaction older than it is open anywhere in the cluster (test files share one PostgreSQL).
 */
async function caughtUpEnd(): Promise<Feed> {
  const last = await withTenantTx(platform.database.db, tenant.tenantId, async (tx) =>
    (await sql<{ id: string }>`SELECT id FROM events WHERE tenant_id = ${tenant.tenantId} AND xact_id IS NOT NULL ORDER BY xact_id DESC, id DESC LIMIT 1`.execute(tx)).rows[0]?.id);
  return eventually(async () => {
    const f = await feed('');
    return f.data.length === 0 && f.next_cursor === (last ?? START) ? f : undefined;
  }, { timeoutMs: 30_000, what: 'the feed end to catch up with the last event' });
}

describe('event feed (GET /v1/events/feed)', () => {
  // The feed holds back events while an older transaction anywhere in the cluster is open (test files share one
  // PostgreSQL), so a request that expects events waits for them (`wait`) instead of asserting on the first look.
  it('starts at the end without a cursor, then hands out new events in commit order, once', async () => {
    const before = await emitEvent(platform, tenant.tenantId, 'payment.processing');
    const first = await caughtUpEnd();
    assert.equal(first.object, 'event_feed');
    assert.equal(first.next_cursor, before, 'an event from before the feed was opened is not new');
    const a = await emitEvent(platform, tenant.tenantId, 'payment.succeeded');
    const b = await emitEvent(platform, tenant.tenantId, 'refund.succeeded');
    const next = await feed(`cursor=${first.next_cursor}&wait=25&limit=2`);
    assert.deepEqual(next.data.map((e) => e.id), [a, b]);
    assert.equal(next.next_cursor, b);
    assert.deepEqual((await feed(`cursor=${next.next_cursor}`)).data, [], 'nothing is handed out twice');
  });

  it('never skips an event whose transaction commits after a newer one (resume without loss)', async () => {
    const start = (await caughtUpEnd()).next_cursor;
    let release!: () => void;
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => { inserted = r; });
    const held = withTenantTx(platform.database.db, tenant.tenantId, async (tx) => {
      const id = await recordEventAndFanOut(tx, tenant.tenantId, { type: 'payment.failed', objectType: 'payment', objectId: 'pay_late', object: { id: 'pay_late' } });
      inserted();
      await new Promise<void>((r) => { release = r; });
      return id;
    });
    await insertedP;
    // Committed while the older-id event's transaction is still open: an id cursor would pass the older one by.
    const newer = await emitEvent(platform, tenant.tenantId, 'payment.succeeded');
    const whileHeld = await feed(`cursor=${start}`);
    assert.deepEqual(whileHeld.data, [], 'no event is handed out ahead of a transaction that may still commit one before it');
    release();
    const late = await held;
    assert.ok(late < newer, 'the late event carries the older id');
    const got = await feed(`cursor=${whileHeld.next_cursor}&wait=25&limit=2`);
    assert.deepEqual(got.data.map((e) => e.id), [late, newer]);
  });

  it('long-polls: a waiting request answers as soon as an event is committed', async () => {
    const cursor = (await caughtUpEnd()).next_cursor;
    const waiting = feed(`cursor=${cursor}&wait=20`);
    await eventually(async () => !(await drainHandlers(platform.api.app, 1)), { timeoutMs: 10_000, what: 'the feed request to be waiting' });
    const id = await emitEvent(platform, tenant.tenantId, 'payment.canceled');
    const got = await waiting;
    assert.deepEqual(got.data.map((e) => e.id), [id]);
  });

  it('filters by type while still moving the cursor past skipped events', async () => {
    const cursor = (await caughtUpEnd()).next_cursor;
    const skipped = await emitEvent(platform, tenant.tenantId, 'payment.processing');
    const refund = await emitEvent(platform, tenant.tenantId, 'refund.succeeded');
    const got = await feed(`cursor=${cursor}&type=refund.*&wait=25`);
    assert.deepEqual(got.data.map((e) => e.id), [refund]);
    assert.equal(got.next_cursor, refund);
    const again = await feed(`cursor=${cursor}&type=payment.processing&limit=1&wait=25`);
    assert.deepEqual(again.data.map((e) => e.id), [skipped]);
  });

  it('pages with limit and has_more, from the start cursor', async () => {
    const all = await feed(`cursor=${START}&limit=100`);
    assert.ok(all.data.length >= 8);
    const firstTwo = await feed(`cursor=${START}&limit=2`);
    assert.equal(firstTwo.has_more, true);
    assert.deepEqual(firstTwo.data.map((e) => e.id), all.data.slice(0, 2).map((e) => e.id));
  });

  it("is the tenant's own: another tenant's events never appear and its cursor is unknown", async () => {
    const mine = (await caughtUpEnd()).next_cursor;
    const theirs = await emitEvent(platform, other.tenantId, 'payment.succeeded');
    const got = await feed(`cursor=${START}&limit=100`);
    assert.ok(!got.data.some((e) => e.id === theirs));
    assert.deepEqual((await feed(`cursor=${mine}`)).data, []);
    const res = await platform.request('GET', `/v1/events/feed?cursor=${theirs}`, { token: tenant.token });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'resource_not_found');
    assert.equal(res.body.error.param, 'cursor');
    const missing = await platform.request('GET', '/v1/events/feed?cursor=evt_01jq8x4m3c0000000000000000', { token: tenant.token });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, res.body.error.message.replace(theirs, 'evt_01jq8x4m3c0000000000000000'));
  });

  it('needs events:read and answers bad input with 400', async () => {
    assert.equal((await platform.request('GET', '/v1/events/feed')).status, 401);
    const limited = await createTenant(platform, { name: 'No events', scopes: ['payments:read'] });
    const res = await platform.request('GET', '/v1/events/feed', { token: limited.token });
    assert.equal(res.status, 403);
    for (const q of ['wait=26', 'wait=-1', 'limit=0', 'limit=101', 'cursor=pay_01jq8x4m3c0000000000000000', 'type=payment.exploded', 'since=1']) {
      const bad = await platform.request('GET', `/v1/events/feed?${q}`, { token: tenant.token });
      assert.equal(bad.status, 400, `${q}: ${bad.text}`);
    }
  });

  it('bounds the waiting requests of one tenant (429 beyond) but not of another', async () => {
    // A tenant with no event yet, read from the start: its waiting requests can only end with the event emitted
    // below (a cursor taken from the feed's end could be behind an event still held back by another file's open
    // transaction, which would end the waits early).
    const quiet = await createTenant(platform, { name: 'Quiet Corp' });
    const cursor = START;
    const token = await getToken(platform, quiet.clientId, quiet.clientSecret);
    const waits = Array.from({ length: 5 }, () => platform.request('GET', `/v1/events/feed?cursor=${cursor}&wait=25`, { token }));
    const refused = await eventually(async () => {
      const res = await platform.request('GET', `/v1/events/feed?cursor=${cursor}&wait=1`, { token });
      return res.status === 429 ? res : undefined;
    }, { timeoutMs: 15_000, what: 'a sixth waiting request to be refused' });
    assert.equal(refused.body.error.code, 'rate_limited');
    assert.equal(refused.headers.get('retry-after'), '1');
    const otherCursor = (await feed('', other.token)).next_cursor;
    assert.equal((await platform.request('GET', `/v1/events/feed?cursor=${otherCursor}&wait=0`, { token: other.token })).status, 200);
    const id = await emitEvent(platform, quiet.tenantId, 'payment.succeeded');
    for (const res of await Promise.all(waits)) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.data.map((e: { id: string }) => e.id), [id]);
    }
  });

  it('answers a waiting request at once when the server shuts down', async () => {
    const cursor = (await caughtUpEnd()).next_cursor;
    const startedAt = Date.now();
    const waiting = platform.request('GET', `/v1/events/feed?cursor=${cursor}&wait=25`, { token: tenant.token });
    await eventually(async () => !(await drainHandlers(platform.api.app, 1)), { timeoutMs: 10_000, what: 'the feed request to be waiting' });
    closed = true;
    await platform.close();
    const res = await waiting;
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.data, []);
    assert.equal(res.body.next_cursor, cursor);
    assert.ok(Date.now() - startedAt < 20_000, 'the shutdown did not wait out the long poll');
  });
});
