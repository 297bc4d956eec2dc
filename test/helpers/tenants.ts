import type { TestPlatform } from './platform.js';
import { ALL_TENANT_SCOPES } from '../../src/platform/http/scopes.js';

export const ADMIN_CLIENT_ID = 'platform-admin';
export const ADMIN_SECRET = 'test-admin-secret-0123456789abcdef';

/** A token from the real token endpoint (client_secret_basic). */
export async function getToken(platform: TestPlatform, clientId: string, secret: string, scope?: string): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  const res = await fetch(`${platform.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body,
  });
  const json = (await res.json()) as { access_token?: string; error?: string };
  if (res.status !== 200 || !json.access_token) throw new Error(`token request failed: ${res.status} ${JSON.stringify(json)}`);
  return json.access_token;
}

export async function adminToken(platform: TestPlatform): Promise<string> {
  return getToken(platform, ADMIN_CLIENT_ID, ADMIN_SECRET);
}

export interface TestTenant {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** a token with every scope requested at creation */
  token: string;
}

/** A tenant and a client created through the admin API, with a token, as an integrator would get them. */
export async function createTenant(platform: TestPlatform, options: { name?: string; scopes?: string[] } = {}): Promise<TestTenant> {
  const admin = await adminToken(platform);
  const tenant = await platform.request('POST', '/v1/admin/tenants', { token: admin, body: { name: options.name ?? 'Acme Corp' } });
  if (tenant.status !== 201) throw new Error(`tenant create failed: ${tenant.status} ${tenant.text}`);
  const client = await platform.request('POST', `/v1/admin/tenants/${tenant.body.id}/clients`, {
    token: admin,
    body: { name: 'integration', scopes: options.scopes ?? ALL_TENANT_SCOPES },
  });
  if (client.status !== 201) throw new Error(`client create failed: ${client.status} ${client.text}`);
  const token = await getToken(platform, client.body.client_id, client.body.client_secret);
  return { tenantId: tenant.body.id, clientId: client.body.client_id, clientSecret: client.body.client_secret, token };
}
