/**
 * Tenant isolation, twice: (a) another tenant's object answers exactly like a missing one; (b) row-level security
 * in PostgreSQL hides other tenants' rows from the application role even when a query forgets the tenant filter.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'kysely';
import { startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.js';
import { adminToken, createTenant, getToken, type TestTenant } from '../helpers/tenants.js';
import { newId } from '../../src/platform/ids.js';
import { pgErrorCode, withCrossTenantTx, withTenantTx } from '../../src/platform/db.js';

let platform: TestPlatform;
let a: TestTenant;
let b: TestTenant;
let admin: string;
let owner: pg.Client;
const paymentsOf: Record<string, string[]> = {};

async function insertPayment(tenantId: string): Promise<string> {
  const id = newId('payment');
  await owner.query(
    `insert into payments (id, tenant_id, method, status, amount, currency, capture_method, card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint)
     values ($1, $2, 'card', 'processing', 1000, 'usd', 'automatic', 'visa', '4242', 12, 2030, 'fp_test')`,
    [id, tenantId],
  );
  (paymentsOf[tenantId] ??= []).push(id);
  return id;
}

before(async () => {
  platform = await startTestPlatform();
  a = await createTenant(platform, { name: 'Tenant A' });
  b = await createTenant(platform, { name: 'Tenant B' });
  admin = await adminToken(platform);
  owner = new pg.Client({ connectionString: platform.db.ownerUrl });
  await owner.connect();
  // fixtures written as the table owner (the embedded server's superuser), outside RLS
  for (const t of [a, b, a]) await insertPayment(t.tenantId);
});
after(async () => {
  await owner.end();
  await platform.close();
});

/** The same 404 as for a missing id: status, error type, code, param, message shape (modulo the id itself). */
function assertSameNotFound(other: TestResponse, missing: TestResponse, otherId: string, missingId: string) {
  assert.equal(other.status, 404, other.text);
  assert.equal(missing.status, 404, missing.text);
  const norm = (r: TestResponse, id: string) => ({ ...r.body.error, message: r.body.error.message.replace(id, '<id>'), request_id: undefined });
  assert.deepEqual(norm(other, otherId), norm(missing, missingId));
  assert.deepEqual(Object.keys(other.body.error).sort(), Object.keys(missing.body.error).sort());
}

describe('admin API: a client reached through another tenant is a 404 like a missing one', () => {
  const missingClient = 'cli_00000000000000000000000000';

  it('rotate_secret of B\'s client under tenant A', async () => {
    const other = await platform.request('POST', `/v1/admin/tenants/${a.tenantId}/clients/${b.clientId}/rotate_secret`, { token: admin });
    const missing = await platform.request('POST', `/v1/admin/tenants/${a.tenantId}/clients/${missingClient}/rotate_secret`, { token: admin });
    assertSameNotFound(other, missing, b.clientId, missingClient);
    await getToken(platform, b.clientId, b.clientSecret); // B's secret was not rotated
  });

  it('revoke of B\'s client under tenant A', async () => {
    const other = await platform.request('DELETE', `/v1/admin/tenants/${a.tenantId}/clients/${b.clientId}`, { token: admin });
    const missing = await platform.request('DELETE', `/v1/admin/tenants/${a.tenantId}/clients/${missingClient}`, { token: admin });
    assertSameNotFound(other, missing, b.clientId, missingClient);
    await getToken(platform, b.clientId, b.clientSecret); // B's client still works
  });

  it('tenant A\'s client list holds only A\'s clients; the platform admin client belongs to no tenant', async () => {
    const res = await platform.request('GET', `/v1/admin/tenants/${a.tenantId}/clients`, { token: admin });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data.map((c: { client_id: string }) => c.client_id), [a.clientId]);
    assert.ok(res.body.data.every((c: { tenant_id: string }) => c.tenant_id === a.tenantId));
  });

  it('unknown tenants: get, list clients, create client', async () => {
    const missing = 'ten_00000000000000000000000000';
    for (const [method, path, body] of [
      ['GET', `/v1/admin/tenants/${missing}`, undefined],
      ['GET', `/v1/admin/tenants/${missing}/clients`, undefined],
      ['POST', `/v1/admin/tenants/${missing}/clients`, { name: 'x', scopes: ['payments:read'] }],
      ['GET', '/v1/admin/tenants/not-even-an-id', undefined],
    ] as const) {
      const res = await platform.request(method, path, { token: admin, ...(body ? { body } : {}) });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.code, 'resource_not_found');
    }
  });

  it('a tenant client cannot be given platform scopes', async () => {
    const res = await platform.request('POST', `/v1/admin/tenants/${a.tenantId}/clients`, { token: admin, body: { name: 'x', scopes: ['platform:admin'] } });
    assert.equal(res.status, 400);
  });

  it('tenant tokens reach no admin route (403), whatever tenant the path names', async () => {
    for (const path of [`/v1/admin/tenants/${a.tenantId}`, `/v1/admin/tenants/${b.tenantId}`, `/v1/admin/tenants/${a.tenantId}/clients`]) {
      assert.equal((await platform.request('GET', path, { token: a.token })).status, 403);
    }
  });
});

describe('row-level security as the application role', () => {
  it('inside tenant A\'s transaction, unfiltered queries see only A\'s rows', async () => {
    const db = platform.database.db;
    await withTenantTx(db, a.tenantId, async (tx) => {
      const payments = await tx.selectFrom('payments').select(['id', 'tenant_id']).execute();
      assert.deepEqual(payments.map((p) => p.id).sort(), [...paymentsOf[a.tenantId]!].sort());
      const clients = await tx.selectFrom('api_clients').select(['id', 'tenant_id']).execute();
      assert.deepEqual(clients.map((c) => c.id), [a.clientId]);
      const audit = await tx.selectFrom('audit_log').select('tenant_id').execute();
      assert.ok(audit.length >= 2, 'tenant.create and client.create were audited for A');
      assert.ok(audit.every((r) => r.tenant_id === a.tenantId));
      const tenants = await tx.selectFrom('tenants').select('id').execute();
      assert.deepEqual(tenants.map((t) => t.id), [a.tenantId]);
      // an explicit filter for B finds nothing, like a missing id
      assert.equal(await tx.selectFrom('payments').select('id').where('id', '=', paymentsOf[b.tenantId]![0]!).executeTakeFirst(), undefined);
      assert.equal(await tx.selectFrom('api_clients').select('id').where('tenant_id', '=', b.tenantId).executeTakeFirst(), undefined);
    });
  });

  it('inside tenant A\'s transaction, B\'s rows cannot be changed or created', async () => {
    const db = platform.database.db;
    const updated = await withTenantTx(db, a.tenantId, (tx) =>
      tx.updateTable('payments').set({ description: 'pwned' }).where('tenant_id', '=', b.tenantId).executeTakeFirst());
    assert.equal(Number(updated.numUpdatedRows), 0);
    const deleted = await withTenantTx(db, a.tenantId, (tx) => tx.deleteFrom('api_clients').where('id', '=', b.clientId).executeTakeFirst());
    assert.equal(Number(deleted.numDeletedRows), 0);
    await assert.rejects(
      withTenantTx(db, a.tenantId, (tx) => tx.insertInto('payments').values({
        id: newId('payment'), tenant_id: b.tenantId, method: 'card', status: 'processing', amount: 5n, currency: 'usd', capture_method: 'automatic',
        card_brand: 'visa', card_last4: '4242', card_exp_month: 12, card_exp_year: 2030, card_fingerprint: 'fp_test',
      } as never).execute()),
      (err: unknown) => pgErrorCode(err) === '42501', // new row violates row-level security policy
    );
    const check = await owner.query('select count(*)::int as n from payments where tenant_id = $1 and description is null', [b.tenantId]);
    assert.equal(check.rows[0].n, paymentsOf[b.tenantId]!.length);
  });

  it('outside any tenant transaction the app role sees no tenant rows at all', async () => {
    const db = platform.database.db;
    assert.equal((await db.selectFrom('payments').select('id').execute()).length, 0);
    assert.equal((await db.selectFrom('api_clients').select('id').execute()).length, 0);
    assert.equal((await db.selectFrom('audit_log').select('id').execute()).length, 0);
    assert.equal((await db.selectFrom('tenants').select('id').execute()).length, 0);
  });

  it('the tenant setting is transaction-local: it never leaks to the next user of a pooled connection', async () => {
    const single = platform.db.connectApp(1);
    await withTenantTx(single.db, a.tenantId, async (tx) => {
      assert.ok((await tx.selectFrom('payments').select('id').execute()).length > 0);
    });
    assert.equal((await single.db.selectFrom('payments').select('id').execute()).length, 0);
    const setting = await sql<{ v: string | null }>`select current_setting('app.tenant_id', true) as v`.execute(single.db);
    assert.ok(!setting.rows[0]?.v);
  });

  it('the explicit cross-tenant path sees every tenant', async () => {
    const ids = await withCrossTenantTx(platform.database.db, (tx) => tx.selectFrom('payments').select('tenant_id').execute());
    assert.deepEqual(new Set(ids.map((r) => r.tenant_id)), new Set([a.tenantId, b.tenantId]));
  });
});

describe('the application role', () => {
  it('is not superuser, has no BYPASSRLS, neither do the roles it belongs to', async () => {
    const res = await sql<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>`
      select r.rolname, r.rolsuper, r.rolbypassrls from pg_roles r where pg_has_role(current_user, r.oid, 'MEMBER')`.execute(platform.database.db);
    const names = res.rows.map((r) => r.rolname);
    assert.ok(names.includes('nimbuspay_app'), names.join(','));
    for (const r of res.rows) {
      assert.equal(r.rolsuper, false, `${r.rolname} is superuser`);
      assert.equal(r.rolbypassrls, false, `${r.rolname} has BYPASSRLS`);
    }
    const me = await sql<{ u: string }>`select current_user as u`.execute(platform.database.db);
    assert.notEqual(me.rows[0]!.u, 'postgres');
  });

  it('owns no table, and every table with a tenant column has RLS enabled, forced and a policy', async () => {
    const owned = await sql<{ relname: string }>`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and pg_has_role(current_user, c.relowner, 'MEMBER')`.execute(platform.database.db);
    assert.deepEqual(owned.rows, [], 'the app role owns no table');

    const tables = await sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; policies: number }>`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and (c.relname = 'tenants' or exists (
          select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
      order by c.relname`.execute(platform.database.db);
    assert.ok(tables.rows.length >= 5, tables.rows.map((t) => t.relname).join(','));
    for (const t of tables.rows) {
      assert.equal(t.relrowsecurity, true, `${t.relname}: RLS not enabled`);
      assert.equal(t.relforcerowsecurity, true, `${t.relname}: RLS not forced`);
      assert.ok(t.policies >= 1, `${t.relname}: no policy`);
    }
  });
});
