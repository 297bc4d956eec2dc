import { isIP } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { withTenantTx, type Db, type Tx } from '../../../platform/db.js';
import type { KeyRing } from '../../../platform/crypto.js';
import { AppError, notFound } from '../../../platform/errors.js';
import { isId, newId } from '../../../platform/ids.js';
import { toPage, type PageQuery } from '../../../platform/pagination.js';
import { recordEventAndFanOut } from '../deliveries/event-fan-out.repository.js';
import { generateWebhookSecret } from '../webhook-signature.js';
import {
  checkWebhookUrl, classifyAddress, describeAddressClass, isAddressAllowed, resolveWithSystemDns,
  type ResolveAllAddresses, type WebhookUrlPolicy,
} from '../ssrf-guard.js';
import * as repo from './endpoints.repository.js';
import type { CreateEndpointInput, UpdateEndpointInput, WebhookEndpointResource } from './endpoints.schema.js';

export interface EndpointServiceDeps {
  db: Db;
  keyRing: KeyRing;
  urlPolicy: WebhookUrlPolicy;
  /** DNS used to check a hostname at registration; defaults to the system resolver. */
  resolveAll?: ResolveAllAddresses;
}

export const DEFAULT_PREVIOUS_SECRET_OVERLAP_SECONDS = 86_400;
const REGISTRATION_DNS_TIMEOUT_MS = 2_000;
const SECRET_PURPOSE = 'webhook-secrets';

export function toEndpointResource(row: repo.EndpointRow): WebhookEndpointResource {
  return {
    id: row.id,
    object: 'webhook_endpoint',
    url: row.url,
    description: row.description,
    enabled_events: row.enabled_events,
    status: row.status,
    disabled_reason: row.status === 'disabled' ? row.disabled_reason : null,
    previous_secret_expires_at: row.previous_secret_expires_at && row.previous_secret_expires_at > new Date()
      ? row.previous_secret_expires_at.toISOString()
      : null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

async function resolveWithTimeout(resolveAll: ResolveAllAddresses, host: string): Promise<LookupAddress[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), REGISTRATION_DNS_TIMEOUT_MS); });
  try {
    return await Promise.race([resolveAll(host, { all: true }), timeout]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Static URL rules, then — for a hostname — its current DNS answer, so an integrator learns at registration that
 * a host pointing at an internal address will never be called. This is early feedback only: the transport checks
 * the address it actually connects to at every delivery (DNS can change). A host that does not resolve now is
 * accepted; its deliveries fail and retry until it does.
 */
export async function validateEndpointUrl(input: string, policy: WebhookUrlPolicy, resolveAll: ResolveAllAddresses = resolveWithSystemDns): Promise<string> {
  const checked = checkWebhookUrl(input, policy);
  if (!checked.ok) {
    throw new AppError(checked.code === 'ssrf_blocked' ? 'url_not_allowed' : 'parameter_invalid_format', `Invalid webhook url: ${checked.reason}.`, { param: 'url' });
  }
  const host = checked.url.hostname;
  if (isIP(host.replace(/^\[(.*)\]$/, '$1')) === 0) {
    for (const { address } of (await resolveWithTimeout(resolveAll, host)) ?? []) {
      const addressClass = classifyAddress(address);
      if (!isAddressAllowed(addressClass, policy.allowPrivateTargets)) {
        throw new AppError('url_not_allowed', `Invalid webhook url: host resolves to a ${describeAddressClass(addressClass)}.`, { param: 'url' });
      }
    }
  }
  return checked.url.href;
}

export function endpointNotFound(id: string): AppError {
  return notFound('webhook_endpoint', id);
}

export async function createEndpoint(
  deps: EndpointServiceDeps,
  tenantId: string,
  input: CreateEndpointInput,
): Promise<WebhookEndpointResource & { secret: string }> {
  const url = await validateEndpointUrl(input.url, deps.urlPolicy, deps.resolveAll);
  const secret = generateWebhookSecret();
  const row = await withTenantTx(deps.db, tenantId, (tx) =>
    repo.insertEndpoint(tx, tenantId, {
      id: newId('webhookEndpoint'),
      url,
      description: input.description ?? null,
      enabled_events: input.enabled_events,
      secret_enc: deps.keyRing.encrypt(SECRET_PURPOSE, secret),
    }),
  );
  return { ...toEndpointResource(row), secret };
}

export async function listEndpoints(db: Db, tenantId: string, page: PageQuery) {
  const rows = await withTenantTx(db, tenantId, (tx) => repo.listEndpoints(tx, tenantId, page));
  return { object: 'list' as const, ...toPage(rows.map(toEndpointResource), page) };
}

export async function getEndpoint(db: Db, tenantId: string, endpointId: string): Promise<WebhookEndpointResource> {
  const row = isId('webhookEndpoint', endpointId) ? await withTenantTx(db, tenantId, (tx) => repo.findEndpoint(tx, tenantId, endpointId)) : undefined;
  if (!row) throw endpointNotFound(endpointId);
  return toEndpointResource(row);
}

export async function updateEndpoint(
  deps: EndpointServiceDeps,
  tenantId: string,
  endpointId: string,
  input: UpdateEndpointInput,
): Promise<WebhookEndpointResource> {
  if (!isId('webhookEndpoint', endpointId)) throw endpointNotFound(endpointId);
  const url = input.url === undefined ? undefined : await validateEndpointUrl(input.url, deps.urlPolicy, deps.resolveAll);
  const row = await withTenantTx(deps.db, tenantId, async (tx) => {
    const current = await repo.lockEndpoint(tx, tenantId, endpointId);
    if (!current) return undefined;
    const statusChanges =
      input.disabled === true && current.status === 'enabled' ? { status: 'disabled' as const, disabled_reason: 'disabled_by_user' }
      // Re-enabling restarts the failure clock: the endpoint gets a fresh WEBHOOK_DISABLE_AFTER_MS.
      : input.disabled === false && current.status === 'disabled' ? { status: 'enabled' as const, disabled_reason: null, failing_since: null }
      : {};
    return repo.updateEndpoint(tx, tenantId, endpointId, {
      ...(url !== undefined ? { url } : {}),
      ...(input.enabled_events !== undefined ? { enabled_events: input.enabled_events } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...statusChanges,
    });
  });
  if (!row) throw endpointNotFound(endpointId);
  return toEndpointResource(row);
}

/**
 * Support's re-enable, in the caller's transaction (its audit entry commits with it): as the tenant's own
 * `disabled: false`, it restarts the failure clock. Undefined when there is no such endpoint; 409 when it is enabled.
 */
export async function enableEndpointInTx(tx: Tx, tenantId: string, endpointId: string): Promise<{ before: repo.EndpointRow; after: repo.EndpointRow } | undefined> {
  const before = await repo.lockEndpoint(tx, tenantId, endpointId);
  if (!before) return undefined;
  if (before.status === 'enabled') throw new AppError('invalid_state', 'The webhook endpoint is already enabled.');
  const after = await repo.updateEndpoint(tx, tenantId, endpointId, { status: 'enabled', disabled_reason: null, failing_since: null });
  if (!after) throw new Error(`webhook endpoint ${endpointId} locked in this transaction was not updated`);
  return { before, after };
}

export async function deleteEndpoint(db: Db, tenantId: string, endpointId: string) {
  const deleted = isId('webhookEndpoint', endpointId) && (await withTenantTx(db, tenantId, (tx) => repo.deleteEndpoint(tx, tenantId, endpointId)));
  if (!deleted) throw endpointNotFound(endpointId);
  return { id: endpointId, object: 'webhook_endpoint' as const, deleted: true as const };
}

/**
 * New secret now; the previous one keeps signing (second signature in `webhook-signature`) until the overlap
 * ends, so receivers can deploy the new secret without dropping a delivery. Rotating again during an overlap
 * drops the oldest secret.
 */
export async function rotateEndpointSecret(
  deps: EndpointServiceDeps,
  tenantId: string,
  endpointId: string,
  expirePreviousAfterSeconds: number = DEFAULT_PREVIOUS_SECRET_OVERLAP_SECONDS,
): Promise<WebhookEndpointResource & { secret: string }> {
  if (!isId('webhookEndpoint', endpointId)) throw endpointNotFound(endpointId);
  const secret = generateWebhookSecret();
  const row = await withTenantTx(deps.db, tenantId, async (tx) => {
    const current = await repo.lockEndpoint(tx, tenantId, endpointId);
    if (!current) return undefined;
    const overlap = expirePreviousAfterSeconds > 0;
    return repo.updateEndpoint(tx, tenantId, endpointId, {
      secret_enc: deps.keyRing.encrypt(SECRET_PURPOSE, secret),
      previous_secret_enc: overlap ? current.secret_enc : null,
      previous_secret_expires_at: overlap ? new Date(Date.now() + expirePreviousAfterSeconds * 1000) : null,
    });
  });
  if (!row) throw endpointNotFound(endpointId);
  return { ...toEndpointResource(row), secret };
}

/** The secrets a delivery is signed with now: the current one, then the previous one while its overlap lasts. */
export function signingSecretsOf(
  keyRing: KeyRing,
  endpoint: Pick<repo.EndpointRow, 'secret_enc' | 'previous_secret_enc' | 'previous_secret_expires_at'>,
  now: Date,
): string[] {
  const secrets = [keyRing.decrypt(SECRET_PURPOSE, endpoint.secret_enc)];
  if (endpoint.previous_secret_enc && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now) {
    secrets.push(keyRing.decrypt(SECRET_PURPOSE, endpoint.previous_secret_enc));
  }
  return secrets;
}

/**
 * Disables an endpoint (410 from the receiver, or failing too long) and records `webhook_endpoint.disabled` in
 * the same transaction, so the tenant's other endpoints hear about it exactly once.
 */
export async function disableEndpointWithEvent(tx: Tx, tenantId: string, endpointId: string, reason: 'endpoint_gone' | 'failing'): Promise<boolean> {
  const row = await repo.disableEndpoint(tx, tenantId, endpointId, reason);
  if (!row) return false;
  await recordEventAndFanOut(tx, tenantId, {
    type: 'webhook_endpoint.disabled',
    objectType: 'webhook_endpoint',
    objectId: row.id,
    object: toEndpointResource(row) as unknown as Record<string, unknown>,
  });
  return true;
}
