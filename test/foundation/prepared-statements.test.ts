/**
 * createDb's opt-in prepared statements: SQL that starts with `prepared(name)` is parsed and planned once per
 * connection under that name (the payment path's function calls use it), everything else stays unnamed.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createDb, prepared, type DbHandle } from '../../src/platform/db.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let handle: DbHandle;

before(async () => {
  database = await createTestDatabase();
  handle = createDb({ connectionString: database.appUrl, max: 1, applicationName: 'nimbuspay-test-prepared' });
});
after(async () => {
  await handle?.close();
  await database?.drop();
});

it('a statement marked prepared(name) is prepared once on the connection and answers with its parameters; others are not', async () => {
  await handle.db.connection().execute(async (conn) => {
    const statements = async () =>
      (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`.execute(conn)).rows.map((r) => r.name);
    assert.deepEqual(await statements(), []);
    for (const n of [1, 2, 3]) {
      const { rows } = await sql<{ doubled: number }>`${sql.raw(prepared('test_double'))} SELECT ${n}::int * 2 AS doubled`.execute(conn);
      assert.equal(rows[0]!.doubled, n * 2);
    }
    await sql`SELECT ${1}::int AS unnamed`.execute(conn);
    assert.deepEqual(await statements(), ['test_double']);
  });
});

it('refuses a name that could not be told apart from the SQL after it', () => {
  assert.throws(() => prepared('bad name */ DROP'), /must be \[a-z_\]\+/);
});
