/**
 * A sweep over every route the app serves, whatever modules registered them: each route that accepts a console
 * session (per its OpenAPI security) refuses no credentials, a missing CSRF token, a too-small role and a tenant
 * token; each route that does not accept one ignores a valid session cookie.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createStaffUser, loginStaff, staffRequest, type StaffSession } from '../helpers/staff.js';
import { createTenant } from '../helpers/tenants.js';
import { listRoutes } from '../../src/platform/http/app.js';
import { STAFF_ROLE_SCOPES } from '../../src/platform/http/scopes.js';

let platform: TestPlatform;

before(async () => {
  platform = await startTestPlatform();
});
after(() => platform.close());

interface SweepRoute {
  method: string;
  url: string;
  /** the URL with every path parameter filled with an id that exists nowhere */
  path: string;
  scope: string | undefined;
  staffSession: boolean;
  isPublic: boolean;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function sweepRoutes(): Promise<SweepRoute[]> {
  const doc = (await platform.request('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
  };
  const out: SweepRoute[] = [];
  for (const route of listRoutes(platform.api.app)) {
    if (!route.url.startsWith('/v1/')) continue;
    const openapiPath = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const op = doc.paths[openapiPath]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${route.url} is not in the OpenAPI document`);
    const security = op.security ?? [];
    out.push({
      method: route.method,
      url: route.url,
      path: route.url.replace(/:([A-Za-z0-9_]+)/g, 'zz_sweep_missing'),
      scope: security.find((s) => 'oauth2' in s)?.oauth2?.[0],
      staffSession: security.some((s) => 'staffSession' in s),
      isPublic: security.length === 0,
    });
  }
  return out;
}

const label = (r: SweepRoute) => `${r.method} ${r.url}`;
const bodyFor = (r: SweepRoute) => (UNSAFE.has(r.method) ? { body: {} } : {});

describe('security sweep over every staff-session route', () => {
  it('applies the staff session rules to every route that accepts one, and ignores sessions elsewhere', async (t) => {
    const routes = await sweepRoutes();
    const staffRoutes = routes.filter((r) => r.staffSession);
    assert.ok(staffRoutes.some((r) => r.url === '/v1/staff/session'), 'the sweep found the staff routes');
    const admin = await loginStaff(platform, await createStaffUser(platform, { role: 'platform_admin' }));
    const agent = await loginStaff(platform, await createStaffUser(platform, { role: 'support_agent' }));
    const tenant = await createTenant(platform, { name: 'Sweep tenant' });
    const agentScopes = new Set<string>(STAFF_ROLE_SCOPES.support_agent);
    const checked: string[] = [];

    for (const r of staffRoutes) {
      assert.ok(r.scope, `${label(r)} accepts a session but declares no scope`);
      const anonymous = await platform.request(r.method, r.path, bodyFor(r));
      assert.equal(anonymous.status, 401, `${label(r)} without credentials: ${anonymous.text}`);
      assert.equal(anonymous.body.error.code, 'authentication_required', label(r));

      if (UNSAFE.has(r.method)) {
        const noCsrf = await staffRequest(platform, admin, r.method, r.path, { ...bodyFor(r), csrf: false });
        assert.equal(noCsrf.status, 403, `${label(r)} without CSRF token: ${noCsrf.text}`);
        assert.equal(noCsrf.body.error.code, 'csrf_token_invalid', label(r));
        const foreign = await staffRequest(platform, admin, r.method, r.path, { ...bodyFor(r), headers: { origin: 'https://evil.example' } });
        assert.equal(foreign.status, 403, `${label(r)} from a foreign origin: ${foreign.text}`);
        assert.equal(foreign.body.error.code, 'csrf_token_invalid', label(r));
      }

      if (!agentScopes.has(r.scope!)) {
        const weak = await staffRequest(platform, agent, r.method, r.path, bodyFor(r));
        assert.equal(weak.status, 403, `${label(r)} as support_agent: ${weak.text}`);
        assert.equal(weak.body.error.code, 'insufficient_scope', label(r));
      }

      const tenantToken = await platform.request(r.method, r.path, { token: tenant.token, ...bodyFor(r) });
      assert.equal(tenantToken.status, 403, `${label(r)} with a tenant token: ${tenantToken.text}`);
      assert.equal(tenantToken.body.error.code, 'insufficient_scope', label(r));

      // the right role with its CSRF token gets past authentication (whatever the route then answers); logout
      // would end the shared session, so it gets one of its own
      const allowed: StaffSession = r.url === '/v1/staff/logout' ? await loginStaff(platform, admin.user) : admin;
      const ok = await staffRequest(platform, allowed, r.method, r.path, bodyFor(r));
      assert.ok(ok.status !== 401 && ok.status !== 403, `${label(r)} as platform_admin with CSRF: ${ok.status} ${ok.text}`);
      checked.push(label(r));
    }

    for (const r of routes.filter((x) => !x.staffSession && !x.isPublic)) {
      const res = await staffRequest(platform, admin, r.method, r.path, bodyFor(r));
      assert.equal(res.status, 401, `${label(r)} must not accept a console session: ${res.status} ${res.text}`);
    }
    assert.ok(checked.length >= 2, checked.join(', '));
    t.diagnostic(`${checked.length} staff-session routes swept: ${checked.join(', ')}`);
  });
});
