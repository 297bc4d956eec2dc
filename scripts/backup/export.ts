/**
 * Logical export of NimbusPay's database with COPY: every table of the application schemas, in foreign-key order,
 * one file per table plus manifest.json (migration version, row counts, money totals, a checksum per file), all
 * read from one REPEATABLE READ, READ ONLY snapshot so the files agree with each other and with the manifest.
 *
 *   npx tsx scripts/backup/export.ts --database-url postgres://owner@host/nimbuspay --out ./backup-2026-12-02
 *
 * Connect as the table owner (or a superuser): the app role cannot read across tenants. Secrets stay encrypted:
 * the files carry ciphertext only, usable with the source environment's NIMBUSPAY_MASTER_KEY.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { applicationSchemas, encryptedColumns, orderedTables, queryOneRow, quoteIdent, type TableInfo } from './catalog.js';
import { computeFigures, MANIFEST_FORMAT, writeManifest, type Manifest, type ManifestTable } from './backup-manifest.js';

export const KEY_REQUIRED =
  'NIMBUSPAY_MASTER_KEY of the source environment: signing keys, webhook secrets, pending bank account numbers and ' +
  'card/bank fingerprints are encrypted or keyed with it; a restore run with another key cannot sign tokens, sign ' +
  'webhooks or submit pending transfers, and computes different fingerprints.';

export interface ExportResult {
  manifest: Manifest;
  durationMs: number;
}

async function copyTable(client: pg.ClientBase, table: TableInfo, file: string): Promise<{ sha256: string; bytes: number }> {
  const cols = table.columns.map(quoteIdent).join(', ');
  const order = table.orderBy.map(quoteIdent).join(', ');
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  // A query rather than `COPY table`: the rows come out in key order, so one snapshot always gives the same bytes.
  const source = client.query(copyTo(`COPY (SELECT ${cols} FROM ${table.qualified} ORDER BY ${order}) TO STDOUT`));
  await pipeline(source, tap, createWriteStream(file, { flags: 'wx' }));
  return { sha256: hash.digest('hex'), bytes };
}

export async function exportDatabase(options: { databaseUrl: string; outDir: string }): Promise<ExportResult> {
  const started = performance.now();
  await mkdir(options.outDir, { recursive: true });
  if ((await readdir(options.outDir)).length > 0) throw new Error(`${options.outDir} is not empty: an export never overwrites another`);
  const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'nimbuspay-backup-export' });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read, read only');
    // The owner is subject to the tables' FORCEd row-level security too; this is the platform's own cross-tenant switch.
    await client.query("select set_config('app.cross_tenant', 'on', true)");
    const schemas = await applicationSchemas(client);
    if (schemas.length === 0) throw new Error('no application schema found (none granted to nimbuspay_app): is this a migrated NimbusPay database?');
    const tables = await orderedTables(client, schemas);
    const migrations = await client.query<{ version: number; name: string; checksum: string }>(
      'select version, name, checksum from schema_migrations order by version',
    );
    const meta = await queryOneRow<{ db: string; version: string; snapshot: string }>(
      client,
      'select current_database() as db, current_setting(\'server_version\') as version, pg_export_snapshot() as snapshot',
    );
    const entries: ManifestTable[] = [];
    for (const [i, table] of tables.entries()) {
      const file = `${String(i + 1).padStart(3, '0')}-${table.schema}.${table.name}.copy`;
      const { sha256, bytes } = await copyTable(client, table, path.join(options.outDir, file));
      entries.push({ schema: table.schema, name: table.name, file, columns: table.columns, rows: 0, sha256, bytes });
    }
    const figures = await computeFigures(client, tables);
    for (const e of entries) {
      const rows = figures.rows[`${e.schema}.${e.name}`];
      if (rows === undefined) throw new Error(`no row count for ${e.schema}.${e.name}`); // counted for the same tables
      e.rows = rows;
    }
    await client.query('commit');
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      created_at: new Date().toISOString(),
      source: { database: meta.db, server_version: meta.version, snapshot: meta.snapshot },
      schema_migration_version: migrations.rows.at(-1)?.version ?? 0,
      migrations: migrations.rows,
      schemas,
      tables: entries,
      figures,
      encrypted_columns: encryptedColumns(tables),
      key_required: KEY_REQUIRED,
    };
    await writeManifest(options.outDir, manifest);
    return { manifest, durationMs: performance.now() - started };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, out: { type: 'string' } } });
  const databaseUrl = values['database-url'] ?? process.env.MIGRATION_DATABASE_URL;
  if (!databaseUrl || !values.out) {
    process.stderr.write('usage: tsx scripts/backup/export.ts --database-url <owner url> --out <empty dir>  (or MIGRATION_DATABASE_URL)\n');
    process.exit(64);
  }
  const { manifest, durationMs } = await exportDatabase({ databaseUrl, outDir: values.out });
  const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
  process.stdout.write(`exported ${manifest.tables.length} tables, ${rows} rows, migration ${manifest.schema_migration_version}, in ${Math.round(durationMs)} ms to ${values.out}\n`);
  process.stdout.write(`restoring it needs ${KEY_REQUIRED}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`export failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
