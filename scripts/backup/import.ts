/**
 * Restores an export of scripts/backup/export.ts into an EMPTY database: migrates it with the project's own
 * migrations, checks every file against its checksum, loads the tables in the manifest's order with triggers and
 * foreign-key checks off (session_replication_role = replica, as pg_restore --disable-triggers does), moves owned
 * sequences past their columns, then recomputes row counts and money totals and commits only if they equal the
 * manifest's. Any difference rolls the load back and exits non-zero.
 *
 *   npx tsx scripts/backup/import.ts --from ./backup-2026-12-02 --database-url postgres://owner@host/nimbuspay_restore
 *
 * Connect as the role that should own the tables (the migrations run as it): a superuser locally, the owner role
 * (nimbuspay_owner) on RDS. Setting session_replication_role needs a superuser or `GRANT SET ON PARAMETER
 * session_replication_role`; without it, --keep-triggers loads with triggers and FK checks on, which the FK order
 * makes possible (the schema has no INSERT triggers today). The app role never can. The restored platform needs the
 * source environment's NIMBUSPAY_MASTER_KEY (see the manifest).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createLogger } from '../../src/platform/logger.js';
import { runMigrations } from '../../src/platform/migrations.js';
import { applicationSchemas, orderedTables, ownedSequences, queryOneRow, quoteIdent } from './catalog.js';
import { compareFigures, computeFigures, readManifest, type Manifest, type ManifestTable } from './backup-manifest.js';

/** The migrator's own bookkeeping: filled by the migrations of the target, compared rather than loaded. */
const MIGRATIONS_TABLE = 'schema_migrations';

export class ImportVerificationError extends Error {
  constructor(readonly problems: string[]) {
    super(`restore does not match the manifest:\n  ${problems.join('\n  ')}`);
  }
}

export interface ImportResult {
  manifest: Manifest;
  loadedRows: number;
  durationMs: number;
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file present with its recorded size and checksum, before the target is touched. */
export async function verifyFiles(dir: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  for (const t of manifest.tables) {
    const file = path.join(dir, t.file);
    const size = await stat(file).then((s) => s.size, () => -1);
    if (size < 0) problems.push(`${t.file}: missing`);
    else if ((await sha256OfFile(file)) !== t.sha256) problems.push(`${t.file}: checksum differs from the manifest (file changed after export)`);
  }
  return problems;
}

async function assertEmpty(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%' limit 5`,
  );
  if (rows.length > 0) throw new Error(`the target database is not empty (${rows.map((r) => r.name).join(', ')}…): restore into a new database`);
}

function migrationProblems(manifest: Manifest, target: Array<{ version: number; name: string; checksum: string }>): string[] {
  const key = (m: { version: number; name: string; checksum: string }) => `${m.version} ${m.name} ${m.checksum}`;
  const a = manifest.migrations.map(key).join('\n');
  const b = target.map(key).join('\n');
  if (a === b) return [];
  return [
    `migrations differ: the export is at ${manifest.schema_migration_version}, this checkout migrates to ${target.at(-1)?.version ?? 0} ` +
      '(restore with the release that made the export, then migrate forward)',
  ];
}

async function sha256OfTable(client: pg.ClientBase, t: ManifestTable, orderBy: string[]): Promise<string> {
  const hash = createHash('sha256');
  const cols = t.columns.map(quoteIdent).join(', ');
  const source = client.query(
    copyTo(`COPY (SELECT ${cols} FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} ORDER BY ${orderBy.map(quoteIdent).join(', ')}) TO STDOUT`),
  );
  for await (const chunk of source) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function importDatabase(options: { databaseUrl: string; fromDir: string; keepTriggers?: boolean }): Promise<ImportResult> {
  const started = performance.now();
  const manifest = await readManifest(options.fromDir);
  const fileProblems = await verifyFiles(options.fromDir, manifest);
  if (fileProblems.length > 0) throw new ImportVerificationError(fileProblems);

  const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'nimbuspay-backup-import' });
  await client.connect();
  try {
    await assertEmpty(client);
    if (!options.keepTriggers) {
      // asked before migrating, so a refusal leaves the target as empty as it was
      const { ok } = await queryOneRow<{ ok: boolean }>(
        client,
        "select current_setting('is_superuser') = 'on' or has_parameter_privilege('session_replication_role', 'SET') as ok",
      );
      if (!ok) {
        throw new Error('this role may not set session_replication_role (needs a superuser or GRANT SET ON PARAMETER session_replication_role): grant it, or load with --keep-triggers');
      }
    }
    await runMigrations({ connectionString: options.databaseUrl, logger: createLogger({ level: 'warn', name: 'backup-import' }) });
    const applied = await client.query<{ version: number; name: string; checksum: string }>(
      `select version, name, checksum from ${MIGRATIONS_TABLE} order by version`,
    );
    const schemaProblems = migrationProblems(manifest, applied.rows);
    if (schemaProblems.length > 0) throw new ImportVerificationError(schemaProblems);

    const schemas = await applicationSchemas(client);
    const tables = await orderedTables(client, schemas);
    const byName = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t]));
    const exported = new Set(manifest.tables.map((t) => `${t.schema}.${t.name}`));
    const unknown = [...byName.keys()].filter((k) => !exported.has(k)).map((k) => `${k}: in the migrated schema but not in the export`);
    if (unknown.length > 0) throw new ImportVerificationError(unknown);

    let loadedRows = 0;
    await client.query('begin');
    try {
      // Triggers (state-machine guards, FK checks) already ran when the rows were first written; replaying them
      // against half-loaded tables would refuse valid history.
      if (!options.keepTriggers) await client.query("set local session_replication_role = 'replica'");
      await client.query("select set_config('app.cross_tenant', 'on', true)");
      for (const entry of manifest.tables) {
        const target = byName.get(`${entry.schema}.${entry.name}`);
        if (!target) throw new ImportVerificationError([`${entry.schema}.${entry.name}: in the export but not in the migrated schema`]);
        const missing = entry.columns.filter((c) => !target.columns.includes(c));
        if (missing.length > 0) throw new ImportVerificationError([`${entry.schema}.${entry.name}: columns ${missing.join(', ')} do not exist in the target`]);
        if (entry.name === MIGRATIONS_TABLE) continue;
        const present = await queryOneRow<{ n: string }>(client, `select count(*) as n from ${target.qualified}`);
        if (Number(present.n) > 0) {
          // Rows the migrations seed (the payment state-machine table): they must be exactly what was exported.
          if ((await sha256OfTable(client, entry, target.orderBy)) !== entry.sha256) {
            throw new ImportVerificationError([`${entry.schema}.${entry.name}: seeded by the migrations with other rows than the export holds`]);
          }
          continue;
        }
        // COPY FROM refuses tables whose row security applies to the loader; FORCE is put back before commit, so
        // no other session ever sees the table without it.
        if (target.forceRowSecurity) await client.query(`alter table ${target.qualified} no force row level security`);
        const sink = client.query(copyFrom(`COPY ${target.qualified} (${entry.columns.map(quoteIdent).join(', ')}) FROM STDIN`));
        await pipeline(createReadStream(path.join(options.fromDir, entry.file)), sink);
        loadedRows += sink.rowCount;
        if (target.forceRowSecurity) await client.query(`alter table ${target.qualified} force row level security`);
      }
      for (const seq of await ownedSequences(client, schemas)) {
        await client.query(
          `select setval('${seq.qualified.replace(/'/g, "''")}', coalesce(max(${quoteIdent(seq.column)}), 1), max(${quoteIdent(seq.column)}) is not null) from ${seq.table}`,
        );
      }
      const problems = compareFigures(manifest.figures, await computeFigures(client, tables));
      if (problems.length > 0) throw new ImportVerificationError(problems);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    }
    return { manifest, loadedRows, durationMs: performance.now() - started };
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, from: { type: 'string' }, 'keep-triggers': { type: 'boolean' } } });
  const databaseUrl = values['database-url'];
  if (!databaseUrl || !values.from) {
    process.stderr.write('usage: tsx scripts/backup/import.ts --from <export dir> --database-url <owner url of an EMPTY database> [--keep-triggers]\n');
    process.exit(64);
  }
  const { manifest, loadedRows, durationMs } = await importDatabase({ databaseUrl, fromDir: values.from, keepTriggers: values['keep-triggers'] ?? false });
  process.stdout.write(`restored ${loadedRows} rows into ${manifest.tables.length} tables in ${Math.round(durationMs)} ms; counts and money totals match the manifest\n`);
  process.stdout.write(`the restored platform needs ${manifest.key_required}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`import failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
