/** The scope vocabulary. Routes declare one of these next to their schema with `routeSecurity`. */
export const TENANT_SCOPES = {
  'payments:read': 'Read payments and refunds',
  'payments:write': 'Create, capture and cancel payments',
  'refunds:write': 'Refund payments',
  'events:read': 'Read events',
  'webhooks:read': 'Read webhook endpoints and deliveries',
  'webhooks:write': 'Manage webhook endpoints, retry and replay deliveries',
  'logs:read': "Read the tenant's own API request log",
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

/**
 * Spread into a route schema: declares the scope for the auth hook and for the OpenAPI document at once.
 * `staffSession: true` also lets a support console session (cookie + CSRF token) call the route; only platform
 * routes (support, admin) say so, so a tenant route never accepts a cookie.
 */
export function routeSecurity(scope: Scope, options: { staffSession?: boolean } = {}): { security: Array<Record<string, string[]>> } {
  return { security: options.staffSession ? [{ oauth2: [scope] }, { staffSession: [] }] : [{ oauth2: [scope] }] };
}

/** True when the route's declared security lets a console session call it. */
export function acceptsStaffSession(security: unknown): boolean {
  return Array.isArray(security) && security.some((s) => typeof s === 'object' && s !== null && 'staffSession' in s);
}

export const STAFF_ROLES = ['support_agent', 'support_operator', 'platform_admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** What each console role may do, in the API's own scope vocabulary (a role is never a second permission system). */
export const STAFF_ROLE_SCOPES: Readonly<Record<StaffRole, readonly PlatformScope[]>> = {
  support_agent: ['support:read'],
  support_operator: ['support:read', 'support:write'],
  platform_admin: ['support:read', 'support:write', 'platform:admin'],
};

/** Who is acting: an API client (bearer token) or a staff member (console session). Audit entries name it. */
export type Actor =
  | { readonly type: 'client'; readonly id: string }
  | { readonly type: 'staff'; readonly id: string; readonly email: string; readonly role: StaffRole; readonly sessionId: string };

export interface AuthContext {
  /** the API client id; for a staff session, the staff user id */
  readonly clientId: string;
  /** null for platform clients (admin, support) and staff */
  readonly tenantId: string | null;
  readonly scopes: ReadonlySet<string>;
  /** the token's jti, or the staff session id */
  readonly tokenId: string;
  readonly actor: Actor;
}
