import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, withDatabase, type DbHandle } from '../../src/platform/db.js';

export const TEMPLATE_DATABASE = 'nimbuspay_template';
export const TEST_APP_ROLE = 'nimbuspay_test_app';
export const TEST_APP_PASSWORD = 'nimbuspay-test-app';

export interface TestDatabase {
  name: string;
  /** the table owner (superuser in the embedded server): migrations, fixtures, pg_dump */
  ownerUrl: string;
  /** the application role: what the app connects as (RLS applies) */
  appUrl: string;
  /** an app-role pool, for assertions through the same role the app uses */
  connectApp(max?: number): DbHandle;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.NIMBUSPAY_TEST_SERVER_URL;
  if (!url) throw new Error('run tests with `npm test` (the harness starts PostgreSQL and sets NIMBUSPAY_TEST_SERVER_URL)');
  return url;
}

/** A fresh database cloned from the migrated template: fast, and isolated from every other test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database ${name} template ${TEMPLATE_DATABASE}`);
        break;
      } catch (err) {
        // two clones of one template at the same instant can collide ("being accessed by other users")
        if (attempt >= 20 || !/being accessed/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end();
  }
  const pools: DbHandle[] = [];
  const appUrl = withDatabase(serverUrl(), name, { name: TEST_APP_ROLE, password: TEST_APP_PASSWORD });
  return {
    name,
    ownerUrl: withDatabase(serverUrl(), name),
    appUrl,
    connectApp(max = 5) {
      const handle = createDb({ connectionString: appUrl, max, applicationName: 'test' });
      pools.push(handle);
      return handle;
    },
    async drop() {
      await Promise.all(pools.map((p) => p.close()));
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
