import pg from 'pg';
import type { Manifest } from './backup-manifest.js';
import { queryOneRow } from './catalog.js';

/**
 * Row-level security after a restore, checked as the application role: with no tenant it sees no payment, and with
 * each tenant set it sees exactly that tenant's payments as the manifest counted them, and no other tenant's.
 * A restore that lost FORCE ROW LEVEL SECURITY or a policy shows up here, not in the totals.
 */
export async function checkTenantIsolation(appUrl: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: appUrl, application_name: 'nimbuspay-backup-rls-check' });
  await client.connect();
  try {
    const none = await queryOneRow<{ n: number }>(client, 'select count(*)::int as n from payments');
    if (none.n !== 0) problems.push(`the app role sees ${none.n} payments without a tenant set`);
    for (const [tenantId, expected] of Object.entries(manifest.figures.tenant_payments)) {
      await client.query('begin');
      try {
        await client.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
        const seen = await queryOneRow<{ n: number; others: number }>(
          client,
          'select count(*)::int as n, count(*) filter (where tenant_id <> $1)::int as others from payments',
          [tenantId],
        );
        if (seen.n !== expected) problems.push(`${tenantId}: the app role sees ${seen.n} payments, the manifest counted ${expected}`);
        if (seen.others !== 0) problems.push(`${tenantId}: the app role sees ${seen.others} payments of other tenants`);
      } finally {
        await client.query('commit');
      }
    }
  } finally {
    await client.end();
  }
  return problems;
}
