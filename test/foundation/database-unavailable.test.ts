import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';

import { isDatabaseUnavailable } from '../../src/platform/db.js';
import { eventually } from '../helpers/eventually.js';

// A database that goes away under a request (a restart, a failover) is a transient failure, not a bug: the API
// answers 503 with Retry-After in the error model, never 500. The outage here is real: the request's own
// PostgreSQL session is terminated by the server while the request waits in it.

describe('database unavailable', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let lock: pg.Client | undefined;

  before(async () => {
    platform = await startTestPlatform();
    tenant = await createTenant(platform);
  });
  after(async () => {
    await lock?.end().catch(() => {});
    await platform?.close();
  });

  it('a request whose database session is terminated answers 503 service_unavailable with Retry-After; the next one succeeds', async () => {
    lock = new pg.Client({ connectionString: platform.db.ownerUrl });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
    const pending = platform.request('GET', '/v1/payments?limit=1', { token: tenant.token });
    // the request's session is waiting for the lock: terminate exactly that session, as a server shutdown does
    // Polled with pg_stat_clear_snapshot() first: inside the lock's transaction pg_stat_activity is read once and kept
    // for the transaction, so a first look taken before the request reached the lock would never see it waiting.
    await eventually(async () => {
      await lock!.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await lock!.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
      );
      return rows.length > 0;
    }, { timeoutMs: 30_000, what: 'the request waiting on the lock' });
    const res = await pending;
    await lock.query('ROLLBACK');
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.error.code, 'service_unavailable');
    assert.equal(res.body.error.request_id, res.headers.get('x-request-id'));
    assert.equal(res.headers.get('retry-after'), '1');
    assert.doesNotMatch(res.text, /terminat|postgres|57P01/i, 'no internal detail in the answer');
    const again = await platform.request('GET', '/v1/payments?limit=1', { token: tenant.token });
    assert.equal(again.status, 200, again.text);
  });

  it('classifies real connection failures as unavailable, and an ordinary query error as not', async () => {
    const refused = new pg.Client({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 5_000 });
    const connectError = await refused.connect().then(() => undefined, (err: unknown) => err);
    assert.ok(isDatabaseUnavailable(connectError), String(connectError));

    const client = new pg.Client({ connectionString: platform.db.ownerUrl });
    client.on('error', () => {}); // the terminated session's socket error, also thrown by the query below
    await client.connect();
    try {
      const violation = await client.query('SELECT 1/0').then(() => undefined, (err: unknown) => err);
      assert.equal(isDatabaseUnavailable(violation), false);
      const terminated = await client.query('SELECT pg_terminate_backend(pg_backend_pid())').then(() => undefined, (err: unknown) => err);
      assert.ok(isDatabaseUnavailable(terminated), String(terminated));
    } finally {
      await client.end().catch(() => {});
    }
  });
});
