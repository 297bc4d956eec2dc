import assert from 'node:assert/strict';
import { createPlatformClient } from '../../src/modules/tenants/index.js';
import type { TestPlatform, TestResponse } from '../helpers/platform.js';
import { getToken } from '../helpers/tenants.js';

export interface SupportClient {
  clientId: string;
  token: string;
}

/** A platform API client (no tenant) with these support scopes, and a token from the real token endpoint. */
export async function supportClient(platform: TestPlatform, scopes: string[], name = 'support tool'): Promise<SupportClient> {
  const client = await createPlatformClient(platform.database.db, { name, scopes }, platform.api.services.keyRing);
  return { clientId: client.client_id, token: await getToken(platform, client.client_id, client.client_secret) };
}

export async function get(platform: TestPlatform, token: string | undefined, path: string): Promise<TestResponse> {
  return platform.request('GET', path, token ? { token } : {});
}

export async function ok(platform: TestPlatform, token: string, path: string): Promise<any> {
  const res = await get(platform, token, path);
  assert.equal(res.status, 200, `${path}: ${res.text}`);
  return res.body;
}

export function assertError(res: TestResponse, status: number, code: string, param?: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body?.error?.code, code, res.text);
  assert.match(res.body.error.doc_url, new RegExp(`/docs/errors#${code}$`), res.text);
  if (param !== undefined) assert.equal(res.body.error.param, param, res.text);
}

