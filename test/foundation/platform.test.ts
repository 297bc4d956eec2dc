import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTestDatabase } from '../helpers/database.js';
import { createDb } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { readMigrationFiles, runMigrations } from '../../src/platform/migrations.js';
import { buildApi } from '../../src/main/api.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { listRoutes } from '../../src/platform/http/app.js';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform();
});
after(() => platform.close());

test('/healthz and /readyz answer 200 on a migrated database', async () => {
  assert.equal((await platform.request('GET', '/healthz')).status, 200);
  const ready = await platform.request('GET', '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.body.checks, { database: 'ok', migrations: 'ok' });
});

test('/readyz goes 503 when the database becomes unreachable, and 200 when it is back', async () => {
  const target = new URL(platform.db.appUrl);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  const viaProxy = new URL(platform.db.appUrl);
  viaProxy.port = String(proxy.port);
  const database = createDb({ connectionString: viaProxy.toString(), max: 2, applicationName: 't' });
  const { app } = await buildApi({ config: platform.config, logger: createLogger({ level: 'silent' }), database });
  try {
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    proxy.cut();
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().checks.database, 'unreachable');
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'liveness does not depend on the DB');
    proxy.restore();
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  } finally {
    await app.close();
    await database.close();
    await proxy.close();
  }
});

test('/readyz is 503 when migrations are behind, 200 again once applied', async () => {
  const owner = new pg.Client({ connectionString: platform.db.ownerUrl });
  await owner.connect();
  try {
    const latest = (await readMigrationFiles()).length;
    const row = await owner.query('delete from schema_migrations where version = $1 returning *', [latest]);
    const behind = await platform.request('GET', '/readyz');
    assert.equal(behind.status, 503);
    assert.match(behind.body.checks.migrations, /behind/);
    await owner.query('insert into schema_migrations (version, name, checksum, applied_at) values ($1, $2, $3, $4)', [
      row.rows[0].version, row.rows[0].name, row.rows[0].checksum, row.rows[0].applied_at,
    ]);
    assert.equal((await platform.request('GET', '/readyz')).status, 200);
  } finally {
    await owner.end();
  }
});

test('two migrators racing on an empty database apply each migration exactly once', async () => {
  const db = await createTestDatabase();
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  try {
    // start from an empty schema: drop everything the template brought
    await owner.query('drop schema public cascade; create schema public; grant usage on schema public to nimbuspay_app');
    const logger = createLogger({ level: 'silent' });
    const [a, b] = await Promise.all([
      runMigrations({ connectionString: db.ownerUrl, logger }),
      runMigrations({ connectionString: db.ownerUrl, logger }),
    ]);
    const files = await readMigrationFiles();
    assert.equal(a.applied.length + b.applied.length, files.length);
    assert.ok(a.applied.length === 0 || b.applied.length === 0, 'one migrator did everything, the other nothing');
    const { rows } = await owner.query('select version from schema_migrations order by version');
    assert.deepEqual(rows.map((r) => r.version), files.map((f) => f.version));
  } finally {
    await owner.end();
    await db.drop();
  }
});

test('a migration edited after it was applied is refused', async () => {
  const owner = new pg.Client({ connectionString: platform.db.ownerUrl });
  await owner.connect();
  try {
    await owner.query("update schema_migrations set checksum = 'tampered' where version = 1");
    await assert.rejects(
      runMigrations({ connectionString: platform.db.ownerUrl, logger: createLogger({ level: 'silent' }) }),
      /was changed after it was applied/,
    );
    const original = (await readMigrationFiles())[0]!;
    await owner.query('update schema_migrations set checksum = $1 where version = 1', [original.checksum]);
  } finally {
    await owner.end();
  }
});

test('the application role is not owner, superuser or BYPASSRLS, and every tenant table forces RLS', async () => {
  const app = platform.db.connectApp(1);
  const { sql } = await import('kysely');
  const role = await sql<{ rolsuper: boolean; rolbypassrls: boolean; rolname: string }>`
    select rolsuper, rolbypassrls, rolname from pg_roles where rolname = current_user`.execute(app.db);
  assert.equal(role.rows[0]!.rolsuper, false);
  assert.equal(role.rows[0]!.rolbypassrls, false);
  const owned = await sql<{ n: bigint }>`select count(*) as n from pg_tables where schemaname = 'public' and tableowner = current_user`.execute(app.db);
  assert.equal(owned.rows[0]!.n, 0n);
  const tables = await sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>`
    select c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c
    join information_schema.columns col on col.table_name = c.relname and col.column_name = 'tenant_id'
    where c.relkind = 'r' and col.table_schema = 'public' and c.relnamespace = 'public'::regnamespace`.execute(app.db);
  assert.ok(tables.rows.length >= 10);
  for (const t of tables.rows) {
    assert.ok(t.relrowsecurity && t.relforcerowsecurity, `${t.relname} must enable and force RLS`);
  }
});

test('GET /openapi.json is a valid OpenAPI 3.1 document covering every route', async () => {
  const res = await platform.request('GET', '/openapi.json');
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, '3.1.0');
  await SwaggerParser.validate(structuredClone(res.body));
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries(res.body.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
  }
  for (const route of listRoutes(platform.api.app)) {
    if (route.hidden || route.url.startsWith('/docs')) continue;
    const openapiPath = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    assert.ok(documented.has(`${route.method} ${openapiPath}`), `${route.method} ${route.url} is missing from the OpenAPI document`);
  }
  assert.ok(res.body.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl.endsWith('/oauth/token'));
  const docs = await fetch(`${platform.baseUrl}/docs`);
  assert.equal(docs.status, 200);
  assert.match(await docs.text(), /<html/i);
});

test('/metrics exposes runtime defaults and DB pool gauges', async () => {
  const res = await fetch(`${platform.baseUrl}/metrics`);
  const text = await res.text();
  assert.match(text, /process_cpu_seconds_total/);
  assert.match(text, /nimbuspay_db_pool_connections\{state="total"/);
});
