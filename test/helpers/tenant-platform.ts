import { after, before } from 'node:test';
import { startTestPlatform, type TestPlatform } from './platform.js';
import { createTenant, type TestTenant } from './tenants.js';
import { createEndpoint, startReceiver, type Receiver } from '../webhooks/helpers.js';

export interface TenantPlatform {
  platform: TestPlatform;
  tenant: TestTenant;
}

/**
 * A test platform with one tenant for the tests of the enclosing `describe` (or file): started in a `before` hook,
 * closed in an `after` hook whatever the outcome, once `beforeClose` has put back what the tests changed (a
 * processor knob, a process they started). Read its fields inside the tests: they are set when `before` has run.
 */
export function useTenantPlatform(
  options: { start?: Parameters<typeof startTestPlatform>[0]; beforeClose?: (fx: TenantPlatform) => Promise<unknown> } = {},
): TenantPlatform {
  const fx = {} as TenantPlatform;
  before(async () => {
    fx.platform = await startTestPlatform(options.start);
    fx.tenant = await createTenant(fx.platform);
  });
  after(async () => {
    if (!('platform' in fx)) return;
    try {
      await options.beforeClose?.(fx);
    } finally {
      await fx.platform.close();
    }
  });
  return fx;
}

export interface WebhookEndpointFixture {
  receiver: Receiver;
  endpointId: string;
}

/**
 * A loopback webhook receiver and the tenant's endpoint (every event type) pointing at it, for the tests of the
 * enclosing `describe`; call it after `useTenantPlatform` (hooks run in the order they were registered).
 */
export function useWebhookEndpoint(fx: TenantPlatform): WebhookEndpointFixture {
  const hooks = {} as WebhookEndpointFixture;
  before(async () => {
    hooks.receiver = await startReceiver();
    hooks.endpointId = (await createEndpoint(fx.platform, fx.tenant.token, { url: hooks.receiver.url })).id;
  });
  after(async () => {
    if ('receiver' in hooks) await hooks.receiver.close();
  });
  return hooks;
}
