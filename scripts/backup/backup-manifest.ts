import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { queryOneRow } from './catalog.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'nimbuspay-logical-backup/1';

/** Money is bigint minor units: carried as decimal strings so no total ever passes through a float. */
export interface PaymentTotals {
  count: number;
  amount: string;
  amount_captured: string;
  amount_refunded: string;
  amount_reversed: string;
}

export interface RefundTotals {
  count: number;
  amount: string;
  amount_succeeded: string;
}

export interface Figures {
  /** rows per table, keyed `schema.table` */
  rows: Record<string, number>;
  /** per currency */
  payments: Record<string, PaymentTotals>;
  refunds: Record<string, RefundTotals>;
  /** payments per tenant: what the app role must see of each tenant after a restore */
  tenant_payments: Record<string, number>;
}

export interface ManifestTable {
  schema: string;
  name: string;
  file: string;
  columns: string[];
  rows: number;
  sha256: string;
  bytes: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  created_at: string;
  source: { database: string; server_version: string; snapshot: string };
  schema_migration_version: number;
  migrations: Array<{ version: number; name: string; checksum: string }>;
  schemas: string[];
  /** in load order (every table after the tables its foreign keys point at) */
  tables: ManifestTable[];
  figures: Figures;
  encrypted_columns: string[];
  key_required: string;
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function readManifest(dir: string): Promise<Manifest> {
  const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  if (manifest.format !== MANIFEST_FORMAT) throw new Error(`${dir}: not a NimbusPay logical backup (format ${String(manifest.format)})`);
  return manifest;
}

/**
 * Row counts and money totals, read through `client` (inside the export's snapshot, or inside the import's
 * transaction before it commits). The caller's transaction must see every tenant (app.cross_tenant = on).
 */
export async function computeFigures(client: pg.ClientBase, tables: Array<{ schema: string; name: string; qualified: string }>): Promise<Figures> {
  const rows: Record<string, number> = {};
  for (const t of tables) {
    const { n } = await queryOneRow<{ n: string }>(client, `select count(*) as n from ${t.qualified}`);
    rows[`${t.schema}.${t.name}`] = Number(n);
  }
  const payments: Record<string, PaymentTotals> = {};
  const p = await client.query<{ currency: string; count: string; amount: string; captured: string; refunded: string; reversed: string }>(
    `select currency, count(*) as count, sum(amount)::text as amount, sum(amount_captured)::text as captured,
            sum(amount_refunded)::text as refunded, sum(amount_reversed)::text as reversed
     from payments group by currency order by currency`,
  );
  for (const r of p.rows) {
    payments[r.currency] = { count: Number(r.count), amount: r.amount, amount_captured: r.captured, amount_refunded: r.refunded, amount_reversed: r.reversed };
  }
  const refunds: Record<string, RefundTotals> = {};
  const f = await client.query<{ currency: string; count: string; amount: string; succeeded: string }>(
    `select currency, count(*) as count, sum(amount)::text as amount,
            coalesce(sum(amount) filter (where status = 'succeeded'), 0)::text as succeeded
     from refunds group by currency order by currency`,
  );
  for (const r of f.rows) refunds[r.currency] = { count: Number(r.count), amount: r.amount, amount_succeeded: r.succeeded };
  const tenantPayments: Record<string, number> = {};
  const t = await client.query<{ tenant_id: string; n: string }>(
    'select t.id as tenant_id, count(p.id) as n from tenants t left join payments p on p.tenant_id = t.id group by t.id order by t.id',
  );
  for (const r of t.rows) tenantPayments[r.tenant_id] = Number(r.n);
  return { rows, payments, refunds, tenant_payments: tenantPayments };
}

/** Every difference between two sets of figures, as readable lines; empty when they agree. */
export function compareFigures(expected: Figures, actual: Figures): string[] {
  const diffs: string[] = [];
  const walk = (label: string, a: unknown, b: unknown): void => {
    if (a !== null && typeof a === 'object' && b !== null && typeof b === 'object') {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of [...keys].sort()) walk(`${label}.${k}`, (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
    } else if (a !== b) {
      diffs.push(`${label}: manifest ${JSON.stringify(a)}, restored ${JSON.stringify(b)}`);
    }
  };
  walk('figures', expected, actual);
  return diffs;
}
