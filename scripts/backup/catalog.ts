import type pg from 'pg';

/** The group role migration 0001 creates; a schema it was granted USAGE on is an application schema. */
export const APP_GROUP_ROLE = 'nimbuspay_app';

export interface TableInfo {
  schema: string;
  name: string;
  /** schema-qualified, quoted: safe to splice into SQL */
  qualified: string;
  /** columns COPY carries (generated columns are recomputed by the server, never copied) */
  columns: string[];
  /** primary key (or every copied column when there is none): the export order, so checksums are reproducible */
  orderBy: string[];
  /** FK targets inside the application schemas (qualified names), excluding the table itself */
  dependsOn: string[];
  forceRowSecurity: boolean;
}

export interface SequenceInfo {
  qualified: string;
  table: string;
  column: string;
}

/** The one row of a query that returns exactly one (an aggregate, a settings read). */
export async function queryOneRow<T extends pg.QueryResultRow>(client: pg.ClientBase, text: string, values?: unknown[]): Promise<T> {
  const { rows } = await client.query<T>(text, values);
  const [row] = rows;
  if (rows.length !== 1 || row === undefined) throw new Error(`expected one row, got ${rows.length}: ${text}`);
  return row;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The application schemas, read from the catalog: those the application group role holds USAGE on by an explicit
 * grant. The sandbox processor and the local Stripe server keep their state in schemas of their own in some
 * environments; those are never granted to the app role, so they are not part of a NimbusPay backup.
 */
export async function applicationSchemas(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ nspname: string }>(
    `select n.nspname from pg_namespace n
     where exists (select 1 from aclexplode(n.nspacl) a join pg_roles r on r.oid = a.grantee
                   where r.rolname = $1 and a.privilege_type = 'USAGE')
     order by n.nspname`,
    [APP_GROUP_ROLE],
  );
  return rows.map((r) => r.nspname);
}

/**
 * Every table of the given schemas in an order where each table comes after the tables its foreign keys point at.
 * Refuses what a plain ordered load cannot restore: self-references, FK cycles and FKs leaving the schemas.
 */
export async function orderedTables(client: pg.ClientBase, schemas: string[]): Promise<TableInfo[]> {
  const tables = await client.query<{ oid: number; schema: string; name: string; force: boolean }>(
    `select c.oid, n.nspname as schema, c.relname as name, c.relforcerowsecurity as force
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1) and c.relkind in ('r', 'p') and not c.relispartition
     order by n.nspname, c.relname`,
    [schemas],
  );
  const unsupported = await client.query<{ schema: string; name: string; relkind: string }>(
    `select n.nspname as schema, c.relname as name, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1) and (c.relkind = 'f' or (c.relkind in ('r', 'p') and c.relispartition))`,
    [schemas],
  );
  if (unsupported.rows.length > 0) {
    const names = unsupported.rows.map((r) => `${r.schema}.${r.name} (relkind ${r.relkind})`).join(', ');
    throw new Error(`tables the backup does not know how to copy: ${names}`);
  }
  const columns = await client.query<{ oid: number; name: string; generated: boolean }>(
    `select a.attrelid as oid, a.attname as name, a.attgenerated <> '' as generated from pg_attribute a
     where a.attrelid = any($1) and a.attnum > 0 and not a.attisdropped order by a.attrelid, a.attnum`,
    [tables.rows.map((t) => t.oid)],
  );
  const keys = await client.query<{ oid: number; name: string }>(
    `select i.indrelid as oid, a.attname as name from pg_index i
     cross join lateral unnest(i.indkey) with ordinality k(attnum, pos)
     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
     where i.indisprimary and i.indrelid = any($1) order by i.indrelid, k.pos`,
    [tables.rows.map((t) => t.oid)],
  );
  const fks = await client.query<{ from_oid: number; to_schema: string; to_name: string; to_oid: number; name: string }>(
    `select con.conrelid as from_oid, n.nspname as to_schema, c.relname as to_name, c.oid as to_oid, con.conname as name
     from pg_constraint con join pg_class c on c.oid = con.confrelid join pg_namespace n on n.oid = c.relnamespace
     where con.contype = 'f' and con.conrelid = any($1)`,
    [tables.rows.map((t) => t.oid)],
  );
  const byOid = new Map<number, TableInfo>();
  for (const t of tables.rows) {
    const cols = columns.rows.filter((c) => c.oid === t.oid && !c.generated).map((c) => c.name);
    const pk = keys.rows.filter((k) => k.oid === t.oid).map((k) => k.name);
    byOid.set(t.oid, {
      schema: t.schema,
      name: t.name,
      qualified: `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`,
      columns: cols,
      orderBy: pk.length > 0 ? pk : cols,
      dependsOn: [],
      forceRowSecurity: t.force,
    });
  }
  for (const fk of fks.rows) {
    const from = byOid.get(fk.from_oid);
    if (!from) throw new Error(`foreign key ${fk.name} belongs to no table that was listed`); // conrelid = any(those tables)
    const to = byOid.get(fk.to_oid);
    if (!to) throw new Error(`${from.qualified} has foreign key ${fk.name} to ${fk.to_schema}.${fk.to_name}, outside the application schemas`);
    if (to === from) throw new Error(`${from.qualified} references itself (${fk.name}): the backup does not know how to order its rows`);
    if (!from.dependsOn.includes(to.qualified)) from.dependsOn.push(to.qualified);
  }
  return topologicalOrder([...byOid.values()]);
}

/** Kahn's algorithm, alphabetical among the ready tables so two exports of one schema list tables identically. */
export function topologicalOrder(tables: TableInfo[]): TableInfo[] {
  const remaining = new Map(tables.map((t) => [t.qualified, t]));
  const ordered: TableInfo[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining.values()]
      .filter((t) => t.dependsOn.every((d) => !remaining.has(d)))
      .sort((a, b) => a.qualified.localeCompare(b.qualified));
    if (ready.length === 0) {
      throw new Error(`foreign keys form a cycle among ${[...remaining.keys()].join(', ')}: the backup does not know how to order them`);
    }
    for (const t of ready) {
      ordered.push(t);
      remaining.delete(t.qualified);
    }
  }
  return ordered;
}

/** Sequences owned by a column (serial or identity) of the given schemas; a restore moves each past its column's max. */
export async function ownedSequences(client: pg.ClientBase, schemas: string[]): Promise<SequenceInfo[]> {
  const { rows } = await client.query<{ seq_schema: string; seq: string; tbl_schema: string; tbl: string; col: string }>(
    `select sn.nspname as seq_schema, s.relname as seq, tn.nspname as tbl_schema, t.relname as tbl, a.attname as col
     from pg_class s join pg_namespace sn on sn.oid = s.relnamespace
     join pg_depend d on d.objid = s.oid and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
     join pg_class t on t.oid = d.refobjid join pg_namespace tn on tn.oid = t.relnamespace
     join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
     where s.relkind = 'S' and tn.nspname = any($1)
     order by 1, 2`,
    [schemas],
  );
  return rows.map((r) => ({
    qualified: `${quoteIdent(r.seq_schema)}.${quoteIdent(r.seq)}`,
    table: `${quoteIdent(r.tbl_schema)}.${quoteIdent(r.tbl)}`,
    column: r.col,
  }));
}

/** Columns holding ciphertext (the `_enc` convention of the migrations): the restore needs the same master key. */
export function encryptedColumns(tables: TableInfo[]): string[] {
  return tables.flatMap((t) => t.columns.filter((c) => c.endsWith('_enc')).map((c) => `${t.schema}.${t.name}.${c}`));
}
