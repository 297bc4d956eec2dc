/** The scope vocabulary. Routes declare one of these next to their schema with `routeSecurity`. */
export const TENANT_SCOPES = {
  'payments:read': 'Read payments and refunds',
  'payments:write': 'Create, capture and cancel payments',
  'refunds:write': 'Refund payments',
  'events:read': 'Read events',
  'webhooks:read': 'Read webhook endpoints and deliveries',
  'webhooks:write': 'Manage webhook endpoints, retry and replay deliveries',
} as const;

export const PLATFORM_SCOPES = {
  'platform:admin': 'Manage tenants, API clients and signing keys',
  'support:read': "Read every tenant's data (card and bank data masked)",
  'support:write': 'Operational actions on tenant data, always with a reason written to the audit log',
} as const;

export type TenantScope = keyof typeof TENANT_SCOPES;
export type PlatformScope = keyof typeof PLATFORM_SCOPES;
export type Scope = TenantScope | PlatformScope;

export const ALL_TENANT_SCOPES = Object.keys(TENANT_SCOPES) as TenantScope[];
export const ALL_SCOPES = [...ALL_TENANT_SCOPES, ...(Object.keys(PLATFORM_SCOPES) as PlatformScope[])];

export function isScope(s: string): s is Scope {
  return (ALL_SCOPES as string[]).includes(s);
}

/** Spread into a route schema: declares the scope for the auth hook and for the OpenAPI document at once. */
export function routeSecurity(scope: Scope): { security: Array<Record<string, string[]>> } {
  return { security: [{ oauth2: [scope] }] };
}

export interface AuthContext {
  readonly clientId: string;
  /** null for platform clients (admin, support) */
  readonly tenantId: string | null;
  readonly scopes: ReadonlySet<string>;
  readonly tokenId: string;
}
