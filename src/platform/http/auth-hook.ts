import { AppError } from '../errors.js';
import type { HttpApp } from './app.js';
import type { FastifyRequest } from 'fastify';
import { acceptsStaffSession, type AuthContext } from './scopes.js';

export type AccessTokenVerifier = (token: string) => Promise<AuthContext>;

/**
 * Authenticates a support console session from the request's cookie. Answers undefined when the request carries
 * no session cookie; throws (session expired, CSRF token missing on a state-changing call…) when it carries a bad one.
 */
export type StaffSessionAuthenticator = (request: FastifyRequest) => Promise<AuthContext | undefined>;

const REALM = 'Bearer realm="nimbuspay"';
const MAX_TOKEN_LENGTH = 8192;

export function authenticationRequired(): AppError {
  return new AppError('authentication_required', 'No bearer access token was provided in the Authorization header.', {
    headers: { 'www-authenticate': REALM },
  });
}

export function invalidToken(description: string): AppError {
  return new AppError('invalid_token', `The access token is invalid: ${description}.`, {
    headers: { 'www-authenticate': `${REALM}, error="invalid_token", error_description="${description.replace(/"/g, "'")}"` },
  });
}

function routeScope(security: unknown): string | undefined {
  if (!Array.isArray(security)) return undefined;
  const first = security[0] as Record<string, string[]> | undefined;
  return first?.oauth2?.[0];
}

/**
 * The one place /v1 routes are authenticated (RFC 6750). Tenant and scopes come only from the verified token.
 * Every /v1 route must declare a scope (routeSecurity) or `config.public: true`; the app refuses to start otherwise,
 * so a forgotten declaration cannot silently expose a route.
 */
export function registerAuthHook(app: HttpApp, verify: AccessTokenVerifier, staffSession?: StaffSessionAuthenticator): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    const scope = routeScope(route.schema?.security);
    if (!scope && route.config?.public !== true) {
      throw new Error(`route ${route.method} ${route.url} declares neither a scope nor config.public`);
    }
  });

  app.addHook('onRequest', async (request) => {
    const scope = routeScope(request.routeOptions.schema?.security);
    if (!scope) return;
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      // A bearer token always wins; a console session is looked at only on routes that accept one.
      const session = staffSession && acceptsStaffSession(request.routeOptions.schema?.security) ? await staffSession(request) : undefined;
      if (!session) throw authenticationRequired();
      authorize(request, session, scope);
      return;
    }
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
    if (!match || !match[1]) {
      if (!/^Bearer\s/i.test(header)) throw authenticationRequired();
      throw invalidToken('malformed bearer token');
    }
    if (match[1].length > MAX_TOKEN_LENGTH) throw invalidToken('token too large');
    authorize(request, await verify(match[1]), scope);
  });
}

function authorize(request: FastifyRequest, auth: AuthContext, scope: string): void {
  request.auth = auth;
  request.log = request.log.child({
    client_id: auth.clientId,
    ...(auth.tenantId ? { tenant_id: auth.tenantId } : {}),
    ...(auth.actor.type === 'staff' ? { staff_id: auth.actor.id, staff_session_id: auth.actor.sessionId } : {}),
  });
  if (!auth.scopes.has(scope)) {
    throw new AppError('insufficient_scope', `This request requires the '${scope}' scope.`, {
      headers: { 'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` },
    });
  }
}

/** The tenant of a tenant-scoped route; platform tokens cannot act on tenant routes. */
export function requireTenant(auth: AuthContext | undefined): { tenantId: string; auth: AuthContext } {
  if (!auth) throw authenticationRequired();
  if (!auth.tenantId) {
    throw new AppError('insufficient_scope', 'This route requires a tenant access token.', {
      headers: { 'www-authenticate': `${REALM}, error="insufficient_scope"` },
    });
  }
  return { tenantId: auth.tenantId, auth };
}
