import pg from 'pg';

/**
 * A fingerprint of every table through the owner connection, which sees every tenant's rows: the row count and the
 * sum of the rows' xmin (the transaction that last wrote each row version), so an insert, an update or a delete all
 * change it, without reading any row as text (the fuzz test takes one after every request).
 */
export interface TableWatch {
  snapshot(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

/**
 * `only`: tables whose rows change on a clock, watched through one column (e.g. signing keys move next → active →
 * retiring on the API's own timer: a new or removed kid is what a request could cause).
 */
export async function watchTables(ownerUrl: string, schemas: string[], exclude: ReadonlySet<string>, only: Readonly<Record<string, string>> = {}): Promise<TableWatch> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
        WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE' ORDER BY 1`,
      [schemas],
    );
    const tables = rows.map((r) => r.name).filter((n) => !exclude.has(n));
    const text = tables
      .map((t) => `SELECT '${t}' AS name, (SELECT count(*) || ':' || ${only[t] ? `coalesce(sum(hashtextextended(x.${only[t]}::text, 0)::numeric), 0)` : 'coalesce(sum(x.xmin::text::bigint), 0)'} FROM ${t} x) AS digest`)
      .join(' UNION ALL ');
    return {
      async snapshot() {
        // a named statement: planned once, not before each of the thousands of requests
        const res = await client.query<{ name: string; digest: string }>({ name: 'fuzz-table-digest', text });
        return new Map(res.rows.map((r) => [r.name, r.digest]));
      },
      close: () => client.end(),
    };
  } catch (err) {
    await client.end();
    throw err;
  }
}

export function changedTables(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after.keys()].filter((t) => before.get(t) !== after.get(t));
}
