/** /v1/admin/staff_users: a platform admin (console session or platform:admin token) creates, lists and disables staff. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freshTotpCode, staffRequest, staffSession, type StaffSession } from '../helpers/staff.js';
import { adminToken } from '../helpers/tenants.js';
import { withCrossTenantTx } from '../../src/platform/db.js';

let platform: TestPlatform;
let admin: StaffSession;

before(async () => {
  platform = await startTestPlatform();
  admin = await staffSession(platform, { role: 'platform_admin' });
});
after(() => platform.close());

const audit = (targetId: string) => withCrossTenantTx(platform.database.db, (tx) =>
  tx.selectFrom('audit_log').select(['action', 'actor_type', 'actor_id', 'reason', 'details']).where('target_id', '=', targetId).orderBy('created_at').execute());

describe('admin staff users', () => {
  it('creates a local account with TOTP (credentials shown once, no-store) and the new person logs in', async () => {
    const res = await staffRequest(platform, admin, 'POST', '/v1/admin/staff_users', { body: { email: 'New.Agent@Corp.test', display_name: 'New Agent', role: 'support_agent' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.body.object, 'staff_user');
    assert.equal(res.body.email, 'new.agent@corp.test');
    assert.equal(res.body.totp_enabled, true);
    assert.equal(res.body.login, 'local');
    const secret = new URL(res.body.totp_uri).searchParams.get('secret')!;
    const login = await platform.request('POST', '/v1/staff/login', { body: { email: 'new.agent@corp.test', password: res.body.password, totp_code: freshTotpCode(secret) } });
    assert.equal(login.status, 200, login.text);
    const entries = await audit(res.body.id);
    assert.equal(entries[0]!.action, 'staff_user.create');
    assert.equal(entries[0]!.actor_type, 'staff');
    assert.equal(entries[0]!.actor_id, admin.user.id);

    const dup = await staffRequest(platform, admin, 'POST', '/v1/admin/staff_users', { body: { email: 'new.agent@corp.test', role: 'support_agent' } });
    assert.equal(dup.status, 409);
    const bad = await staffRequest(platform, admin, 'POST', '/v1/admin/staff_users', { body: { email: 'x@corp.test', role: 'root' } });
    assert.equal(bad.status, 400);
  });

  it('lists staff users newest first without any secret', async () => {
    const res = await staffRequest(platform, admin, 'GET', '/v1/admin/staff_users?limit=100');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.object, 'list');
    assert.ok(res.body.data.some((u: { id: string }) => u.id === admin.user.id));
    assert.doesNotMatch(res.text, /password|totp_secret|scrypt/);
  });

  it("disables an account with a reason (audited); its session dies at once; a platform:admin token may do it too", async () => {
    const victim = await staffSession(platform, { role: 'support_operator' });
    const noReason = await staffRequest(platform, admin, 'POST', `/v1/admin/staff_users/${victim.user.id}/disable`, { body: {} });
    assert.equal(noReason.status, 400);
    const res = await staffRequest(platform, admin, 'POST', `/v1/admin/staff_users/${victim.user.id}/disable`, { body: { reason: 'left the company' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'disabled');
    assert.equal((await staffRequest(platform, victim, 'GET', '/v1/staff/session')).status, 401);
    const entry = (await audit(victim.user.id)).find((e) => e.action === 'staff_user.disable')!;
    assert.equal(entry.reason, 'left the company');
    assert.equal((entry.details as { sessions_revoked: number }).sessions_revoked, 1);

    const other = await staffSession(platform);
    const byToken = await platform.request('POST', `/v1/admin/staff_users/${other.user.id}/disable`, { token: await adminToken(platform), body: { reason: 'by the platform admin client' } });
    assert.equal(byToken.status, 200, byToken.text);
    assert.equal((await audit(other.user.id)).find((e) => e.action === 'staff_user.disable')!.actor_type, 'client');
    const missing = await staffRequest(platform, admin, 'POST', '/v1/admin/staff_users/stf_00000000000000000000000000/disable', { body: { reason: 'does not exist' } });
    assert.equal(missing.status, 404);
  });
});
