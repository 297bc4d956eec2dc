import { createHmac } from 'node:crypto';
import { createPlatformClient } from '../../src/modules/tenants/index.js';
import { signProcessorNotification } from '../../src/modules/processors/index.js';
import { STRIPE_TEST_WEBHOOK_SECRET, type TestPlatform } from '../helpers/platform.js';
import { createTenant, getToken, type TestTenant } from '../helpers/tenants.js';
import { NOTIFICATION_SECRET } from '../bank/helpers.js';
import { CARDS, cardBody, post } from '../payments/helpers.js';
import { createEndpoint } from '../webhooks/helpers.js';
import type { Operation } from './openapi-model.js';
import type { Who } from './fuzz-oracles.js';

export interface FuzzFixtures {
  owner: TestTenant;
  other: TestTenant;
  /** a platform client holding every platform scope */
  platformToken: string;
  ownerIds: Record<string, string>;
  foreignIds: Record<string, string>;
}

const PLATFORM_SCOPES = new Set(['platform:admin', 'support:read', 'support:write']);

async function ok(res: { status: number; text: string; body: any }, what: string): Promise<any> {
  if (res.status < 200 || res.status >= 300) throw new Error(`fixture ${what}: ${res.status} ${res.text}`);
  return res.body;
}

/** One of each object a path can name, for one tenant: the fuzz test aims its malformed requests at these. */
async function tenantObjects(platform: TestPlatform, tenant: TestTenant): Promise<Record<string, string>> {
  const endpoint = await createEndpoint(platform, tenant.token, { url: 'http://127.0.0.1:9/hooks' });
  const held = await ok(await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { capture_method: 'manual' })), 'payment');
  const paid = await ok(await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa)), 'payment');
  const refund = await ok(await post(platform, tenant.token, `/v1/payments/${paid.id}/refunds`, { amount: 100 }), 'refund');
  const events = await ok(await platform.request('GET', '/v1/events?limit=1', { token: tenant.token }), 'events');
  const deliveries = await ok(await platform.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=1`, { token: tenant.token }), 'deliveries');
  if (!events.data[0] || !deliveries.data[0]) throw new Error('fixture: no event or delivery was recorded');
  return {
    payments: held.id, refunds: refund.id, events: events.data[0].id, webhook_endpoints: endpoint.id, webhook_deliveries: deliveries.data[0].id,
  };
}

export async function createFixtures(platform: TestPlatform): Promise<FuzzFixtures> {
  const owner = await createTenant(platform, { name: 'Fuzz Owner' });
  const other = await createTenant(platform, { name: 'Fuzz Other' });
  // admin routes that revoke or rotate are aimed at a tenant of their own, so the fuzz never locks itself out
  const victim = await createTenant(platform, { name: 'Fuzz Victim' });
  const client = await createPlatformClient(platform.database.db, { name: 'fuzz platform client', scopes: [...PLATFORM_SCOPES] }, platform.api.services.keyRing);
  const platformToken = await getToken(platform, client.client_id, client.client_secret);
  const staff = await ok(await platform.request('POST', '/v1/admin/staff_users', {
    token: platformToken, body: { email: 'fuzz.victim@example.test', role: 'support_agent' },
  }), 'staff user');
  return {
    owner,
    other,
    platformToken,
    ownerIds: { ...(await tenantObjects(platform, owner)), tenants: victim.tenantId, clients: victim.clientId, staff_users: staff.id },
    foreignIds: await tenantObjects(platform, other),
  };
}

export function tokenFor(fx: FuzzFixtures, op: Operation, who: 'owner' | 'other'): string {
  if (op.scope && PLATFORM_SCOPES.has(op.scope)) return who === 'owner' ? fx.platformToken : fx.owner.token;
  return who === 'owner' ? fx.owner.token : fx.other.token;
}

function stripeSignature(secret: string, body: Buffer, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex')}`;
}

/**
 * The credentials `who` sends on `op`: a bearer token, client credentials at the token endpoint, or the processor's
 * signature over the exact body (with the wrong secret for the other identity).
 */
export function identityHeaders(fx: FuzzFixtures, op: Operation, who: Who, body: Buffer | undefined): Array<[string, string]> {
  if (who === 'none') return [];
  const signature = op.params.find((p) => p.in === 'header' && p.name.endsWith('signature'))?.name;
  const now = Math.floor(Date.now() / 1000);
  if (signature === 'processor-signature') {
    return [[signature, signProcessorNotification(who === 'owner' ? NOTIFICATION_SECRET : 'not-the-secret', body ?? Buffer.alloc(0), now)]];
  }
  if (signature) return [[signature, stripeSignature(who === 'owner' ? STRIPE_TEST_WEBHOOK_SECRET : 'whsec_not_the_secret', body ?? Buffer.alloc(0), now)]];
  if (op.body?.contentType.includes('x-www-form-urlencoded') && !op.scope) {
    const t = who === 'owner' ? fx.owner : fx.other;
    return [['authorization', `Basic ${Buffer.from(`${encodeURIComponent(t.clientId)}:${encodeURIComponent(t.clientSecret)}`).toString('base64')}`]];
  }
  return [['authorization', `Bearer ${tokenFor(fx, op, who)}`]];
}
