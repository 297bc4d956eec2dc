import pg from 'pg';

/**
 * A fingerprint of every table (row count and an order-free sum of row hashes, no sort) through the owner
 * connection, which sees every tenant's rows. Hashes, not only counts: a refused request must not update a row either.
 */
export interface TableWatch {
  snapshot(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

export async function watchTables(ownerUrl: string, schemas: string[], exclude: ReadonlySet<string>): Promise<TableWatch> {
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
      .map((t) => `SELECT '${t}' AS name, (SELECT count(*) || ':' || coalesce(sum(hashtextextended(x::text, 0)::numeric), 0) FROM ${t} x) AS digest`)
      .join(' UNION ALL ');
    return {
      async snapshot() {
        const res = await client.query<{ name: string; digest: string }>(text);
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
