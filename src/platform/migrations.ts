import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import type { Db } from './db.js';
import type { Logger } from './logger.js';

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

// Any fixed 64-bit number works; every migrator takes the same one, so only one applies migrations at a time.
const MIGRATION_LOCK_ID = 7_359_120_044_001n;

export async function readMigrationFiles(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n)).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const sqlText = await readFile(path.join(dir, name), 'utf8');
    files.push({
      version: Number(name.slice(0, 4)),
      name,
      sql: sqlText,
      checksum: createHash('sha256').update(sqlText).digest('hex'),
    });
  }
  files.forEach((f, i) => {
    if (f.version !== i + 1) throw new Error(`migrations must be numbered 0001, 0002, … without gaps (found ${f.name})`);
  });
  return files;
}

/**
 * Applies pending migrations, each in its own transaction, under a session advisory lock so that two processes
 * starting at once apply each migration exactly once (the second waits, then finds nothing to do).
 * Refuses to run when an applied migration's file was edited (checksum mismatch): migrations are forward-only.
 */
export async function runMigrations(options: {
  connectionString: string;
  logger: Logger;
  dir?: string;
}): Promise<{ applied: string[] }> {
  const files = await readMigrationFiles(options.dir);
  const client = new pg.Client({ connectionString: options.connectionString, application_name: 'nimbuspay-migrate' });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID.toString()]);
    await client.query(`create table if not exists schema_migrations (
      version integer primary key, name text not null, checksum text not null,
      applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'select version, name, checksum from schema_migrations order by version',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const file of files) {
      const prior = done.get(file.version);
      if (prior) {
        if (prior.checksum !== file.checksum) {
          throw new Error(`migration ${file.name} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query('begin');
      try {
        await client.query(file.sql);
        await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
          file.version,
          file.name,
          file.checksum,
        ]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw new Error(`migration ${file.name} failed: ${(err as Error).message}`);
      }
      applied.push(file.name);
      options.logger.info({ migration: file.name }, 'migration applied');
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID.toString()]).catch(() => {});
    await client.end();
  }
  return { applied };
}

/** The newest migration applied to the database `db` is connected to (0 before the first); for readiness. */
export async function appliedMigrationVersion(db: Db): Promise<number> {
  const result = await sql<{ version: number | null }>`select max(version) as version from schema_migrations`.execute(db);
  return result.rows[0]?.version ?? 0;
}
