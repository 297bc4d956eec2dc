import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startTestPlatform } from '../helpers/platform.js';
import { TEST_APP_PASSWORD, TEST_APP_ROLE } from '../helpers/database.js';
import { createDrillData, waitForQuiet } from '../../scripts/backup/drill-data.js';
import { exportDatabase } from '../../scripts/backup/export.js';
import { importDatabase, ImportVerificationError } from '../../scripts/backup/import.js';
import { readManifest, writeManifest } from '../../scripts/backup/backup-manifest.js';
import { checkTenantIsolation } from '../../scripts/backup/tenant-isolation.js';
import { fencedBlocks, sqlStatements } from './runbook-extract.js';
import { withDatabase } from '../../src/platform/db.js';

const serverUrl = (): string => process.env.NIMBUSPAY_TEST_SERVER_URL!;

async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select set_config('app.cross_tenant', 'on', false)");
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

/** An empty database on the test server, dropped when the test ends. */
async function emptyDatabase(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const name = `restore_${randomBytes(5).toString('hex')}`;
  await query(withDatabase(serverUrl(), 'postgres'), `create database ${name}`);
  t.after(() => query(withDatabase(serverUrl(), 'postgres'), `drop database if exists ${name} with (force)`).then(() => {}));
  return name;
}

const MONEY_SQL = `
  select 'payments' as kind, currency, count(*)::int as n, sum(amount)::text as amount, sum(amount_captured)::text as captured,
         sum(amount_refunded)::text as refunded from payments group by currency
  union all
  select 'refunds', currency, count(*)::int, sum(amount)::text, null, null from refunds group by currency
  order by 1, 2`;
const COUNTS_SQL = `
  select (select count(*) from tenants)::int as tenants, (select count(*) from payments)::int as payments,
         (select count(*) from refunds)::int as refunds, (select count(*) from events)::int as events,
         (select count(*) from webhook_deliveries)::int as deliveries, (select count(*) from payment_attempts)::int as attempts,
         (select count(*) from signing_keys)::int as signing_keys`;

/** Changes one payment's amount in the export's payments file (text COPY format: tab-separated columns). */
async function tamperAmount(dir: string): Promise<void> {
  const manifest = await readManifest(dir);
  const entry = manifest.tables.find((x) => x.name === 'payments')!;
  const column = entry.columns.indexOf('amount');
  const file = path.join(dir, entry.file);
  const lines = (await readFile(file, 'utf8')).split('\n');
  const fields = lines[0]!.split('\t');
  fields[column] = String(Number(fields[column]) + 100);
  lines[0] = fields.join('\t');
  await writeFile(file, lines.join('\n'));
}

test('export → import restores every row, count and money total; a tampered export is refused', async (t) => {
  const platform = await startTestPlatform({ worker: true, env: { LOG_LEVEL: 'warn', BANK_TRANSFER_SUBMIT_DELAY_MS: '1000' } });
  t.after(() => platform.close());
  const data = await createDrillData(platform, { tenants: 2, paymentsPerTenant: 4 });
  t.after(() => data.close());
  await waitForQuiet(platform, data);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-backup-test-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));

  const exportDir = path.join(tmp, 'export');
  const { manifest } = await exportDatabase({ databaseUrl: platform.db.ownerUrl, outDir: exportDir });
  const sourceCounts = await query(platform.db.ownerUrl, COUNTS_SQL);
  const sourceMoney = await query(platform.db.ownerUrl, MONEY_SQL);
  assert.equal(manifest.figures.rows['public.payments'], (sourceCounts[0] as { payments: number }).payments);
  assert.ok(Object.keys(manifest.figures.payments).includes('eur'), 'the data spans two currencies');
  assert.notEqual(manifest.figures.payments.usd!.amount_reversed, '0', 'a returned transfer is part of the totals');
  assert.ok(!manifest.tables.some((x) => x.schema !== 'public'), 'the sandbox processor schemas are not part of the backup');

  await t.test('the restore equals the source, and row-level security still isolates tenants', async (t) => {
    const target = await emptyDatabase(t);
    const result = await importDatabase({ databaseUrl: withDatabase(serverUrl(), target), fromDir: exportDir });
    assert.ok(result.loadedRows > 0);
    assert.deepEqual(await query(withDatabase(serverUrl(), target), COUNTS_SQL), sourceCounts);
    assert.deepEqual(await query(withDatabase(serverUrl(), target), MONEY_SQL), sourceMoney);
    const problems = await checkTenantIsolation(withDatabase(serverUrl(), target, { name: TEST_APP_ROLE, password: TEST_APP_PASSWORD }), manifest);
    assert.deepEqual(problems, []);
    assert.equal(Object.keys(manifest.figures.tenant_payments).length, 2);

    // The restore runbook's verification queries run on real restored rows, and its invariants hold there.
    const runbook = await readFile(path.resolve(import.meta.dirname, '../../docs/runbooks/restore-database.md'), 'utf8');
    const statements = fencedBlocks(runbook).filter((b) => b.lang === 'sql').flatMap((b) => sqlStatements(b.text)).filter((s) => !s.control);
    const invariants = statements.filter((s) => /\bas violations_\w+/i.test(s.sql));
    assert.ok(invariants.length >= 5, 'the runbook lists its invariants');
    for (const { sql } of statements) {
      const rows = await query<Record<string, unknown>>(withDatabase(serverUrl(), target), sql);
      if (invariants.some((i) => i.sql === sql)) assert.deepEqual(Object.values(rows[0]!).map(Number), [0], sql);
    }
  });

  await t.test('a changed amount fails the checksum before anything is loaded', async (t) => {
    const dir = path.join(tmp, 'tampered');
    await cp(exportDir, dir, { recursive: true });
    await tamperAmount(dir);
    const target = await emptyDatabase(t);
    await assert.rejects(importDatabase({ databaseUrl: withDatabase(serverUrl(), target), fromDir: dir }), (err: unknown) => {
      assert.ok(err instanceof ImportVerificationError);
      assert.match(err.message, /payments\.copy: checksum differs/);
      return true;
    });
  });

  await t.test('a changed amount with a forged checksum fails the money totals and loads nothing', async (t) => {
    const dir = path.join(tmp, 'forged');
    await cp(exportDir, dir, { recursive: true });
    await tamperAmount(dir);
    const forged = await readManifest(dir);
    const entry = forged.tables.find((x) => x.name === 'payments')!;
    entry.sha256 = createHash('sha256').update(await readFile(path.join(dir, entry.file))).digest('hex');
    await writeManifest(dir, forged);
    const target = await emptyDatabase(t);
    await assert.rejects(importDatabase({ databaseUrl: withDatabase(serverUrl(), target), fromDir: dir }), (err: unknown) => {
      assert.ok(err instanceof ImportVerificationError);
      assert.match(err.message, /figures\.payments\.(usd|eur)\.amount: manifest "\d+", restored "\d+"/);
      return true;
    });
    const left = await query<{ n: number }>(withDatabase(serverUrl(), target), 'select count(*)::int as n from payments');
    assert.equal(left[0]!.n, 0, 'the failed load was rolled back');
  });

  await t.test('as a non-superuser owner (the RDS case): refused to disable triggers, restored with --keep-triggers', async (t) => {
    const role = `restore_owner_${randomBytes(4).toString('hex')}`;
    const name = `restore_${randomBytes(5).toString('hex')}`;
    await query(withDatabase(serverUrl(), 'postgres'), `create role ${role} login password 'owner-pass' nosuperuser nobypassrls`);
    await query(withDatabase(serverUrl(), 'postgres'), `create database ${name} owner ${role}`);
    t.after(async () => {
      await query(withDatabase(serverUrl(), 'postgres'), `drop database if exists ${name} with (force)`);
      await query(withDatabase(serverUrl(), 'postgres'), `drop role if exists ${role}`);
    });
    const ownerUrl = withDatabase(serverUrl(), name, { name: role, password: 'owner-pass' });
    await assert.rejects(importDatabase({ databaseUrl: ownerUrl, fromDir: exportDir }), /may not set session_replication_role/);
    await importDatabase({ databaseUrl: ownerUrl, fromDir: exportDir, keepTriggers: true });
    assert.deepEqual(await query(withDatabase(serverUrl(), name), COUNTS_SQL), sourceCounts);
    assert.deepEqual(await query(withDatabase(serverUrl(), name), MONEY_SQL), sourceMoney);
    const owners = await query<{ owner: string }>(withDatabase(serverUrl(), name), "select distinct tableowner as owner from pg_tables where schemaname = 'public'");
    assert.deepEqual(owners, [{ owner: role }]);
  });

  await t.test('a database that is not empty is refused', async () => {
    await assert.rejects(importDatabase({ databaseUrl: platform.db.ownerUrl, fromDir: exportDir }), /not empty/);
  });

  // Last: these change the source's schema.
  await t.test('an export refuses tables it cannot order: a self-reference, a foreign-key cycle', async () => {
    await query(platform.db.ownerUrl, 'create table drill_tree (id int primary key, parent int references drill_tree (id))');
    await assert.rejects(exportDatabase({ databaseUrl: platform.db.ownerUrl, outDir: path.join(tmp, 'self') }), /"drill_tree" references itself/);
    await query(platform.db.ownerUrl, 'drop table drill_tree');
    await query(platform.db.ownerUrl, 'create table drill_a (id int primary key, b int); create table drill_b (id int primary key, a int references drill_a (id))');
    await query(platform.db.ownerUrl, 'alter table drill_a add foreign key (b) references drill_b (id)');
    await assert.rejects(exportDatabase({ databaseUrl: platform.db.ownerUrl, outDir: path.join(tmp, 'cycle') }), /foreign keys form a cycle among "public"\."drill_a", "public"\."drill_b"/);
  });
});
