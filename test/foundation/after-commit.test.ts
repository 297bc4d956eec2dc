/**
 * The end of the platform's transactions (withTenantTx, withCrossTenantTx): afterCommit hooks — work that must count
 * only committed transactions, such as the payments metric of bank transfers — run once the transaction has
 * committed, never after a rollback; and a transaction that an error aborted is never reported as committed.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import pg from 'pg';
import { afterCommit, withCrossTenantTx, type DbHandle, type Tx } from '../../src/platform/db.js';
import { newId } from '../../src/platform/ids.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let handle: DbHandle;

before(async () => {
  database = await createTestDatabase();
  handle = database.connectApp(2);
});
after(async () => {
  await database?.drop();
});

/** Whether the transaction that wrote `name` committed, seen by the table owner on a connection of its own. */
async function committed(name: string): Promise<boolean> {
  const owner = new pg.Client({ connectionString: database.ownerUrl });
  await owner.connect();
  try {
    const { rows } = await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants WHERE name = $1', [name]);
    return rows[0]!.n === 1;
  } finally {
    await owner.end();
  }
}

async function insertTenant(tx: Tx, name: string): Promise<void> {
  await sql`INSERT INTO tenants (id, name) VALUES (${newId('tenant')}, ${name})`.execute(tx);
}

it('runs the hooks after COMMIT, in the order they were added, when the transaction commits', async () => {
  const seen: string[] = [];
  const result = await withCrossTenantTx(handle.db, async (tx) => {
    await insertTenant(tx, 'after-commit-ok');
    afterCommit(tx, () => seen.push('first'));
    afterCommit(tx, () => seen.push('second'));
    assert.deepEqual(seen, [], 'nothing runs before the transaction ends');
    return 'answer';
  });
  assert.equal(result, 'answer');
  assert.deepEqual(seen, ['first', 'second']);
  assert.equal(await committed('after-commit-ok'), true);
});

it('never runs them when the transaction rolls back', async () => {
  const seen: string[] = [];
  await assert.rejects(withCrossTenantTx(handle.db, async (tx) => {
    await insertTenant(tx, 'after-commit-rolled-back');
    afterCommit(tx, () => seen.push('counted'));
    throw new Error('the work failed');
  }), /the work failed/);
  assert.deepEqual(seen, []);
  assert.equal(await committed('after-commit-rolled-back'), false);
});

it('a transaction whose failed statement was caught is reported as failed, not committed, and runs no hook', async () => {
  const seen: string[] = [];
  await assert.rejects(withCrossTenantTx(handle.db, async (tx) => {
    await insertTenant(tx, 'after-commit-aborted');
    afterCommit(tx, () => seen.push('counted'));
    // a CHECK violation aborts the transaction; the code goes on as if nothing happened
    await sql`INSERT INTO tenants (id, name) VALUES ('not-a-tenant-id', 'x')`.execute(tx).catch(() => {});
    return 'looks fine';
  }), /the transaction was rolled back/);
  assert.deepEqual(seen, []);
  assert.equal(await committed('after-commit-aborted'), false);
});

it('a hook that throws neither hides the commit from the caller nor stops the hooks after it', async () => {
  const seen: string[] = [];
  const result = await withCrossTenantTx(handle.db, async (tx) => {
    await insertTenant(tx, 'after-commit-hook-throws');
    afterCommit(tx, () => {
      throw new Error('a broken hook');
    });
    afterCommit(tx, () => seen.push('next'));
    return 'committed';
  });
  assert.equal(result, 'committed');
  assert.deepEqual(seen, ['next']);
  assert.equal(await committed('after-commit-hook-throws'), true);
});

it('refuses a transaction it cannot see the end of, and a finished one', async () => {
  await handle.db.transaction().execute(async (tx) => {
    assert.throws(() => afterCommit(tx, () => {}), /not inside withTenantTx or withCrossTenantTx/);
  });
  let finished: Tx | undefined;
  await withCrossTenantTx(handle.db, async (tx) => {
    finished = tx;
  });
  assert.throws(() => afterCommit(finished!, () => {}), /not inside withTenantTx or withCrossTenantTx/);
});
