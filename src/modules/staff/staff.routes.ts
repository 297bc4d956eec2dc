import '@fastify/cookie';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpApp } from '../../platform/http/app.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import { ListSchema, errorResponses } from '../../platform/http/pagination.js';
import { authenticationRequired } from '../../platform/http/auth-hook.js';
import {
  CreateStaffUserBody, DisableStaffUserBody, LoginBody, LoginOptionsSchema, SsoCallbackQuery, SsoStartQuery, StaffSessionSchema,
  StaffUserIdParams, StaffUserSchema, StaffUserWithCredentialsSchema, StaffUsersPageQuery,
} from './staff.schema.js';
import {
  assertSameOrigin, logout, readCookie, resolveSession, sessionCookie, ssoStateCookie, toSessionResource, type RequestMeta, type StaffDeps,
} from './staff-sessions.js';
import { loginWithPassword } from './local-login.service.js';
import './staff-doc.schema.js';
import { finishSso, safeReturnTo, SsoError, startSso, type OidcClient } from './oidc.service.js';
import { createStaffUser, disableStaffUser, listStaffUsers, type StaffAdminActor } from './staff-users.service.js';

const tags = ['Staff (support console)'];
const session = routeSecurity('support:read', { staffSession: true });
const admin = routeSecurity('platform:admin', { staffSession: true });
const redirect = Type.Null({ description: 'Redirect (Location header).' });

export interface StaffRouteDeps extends StaffDeps {
  logger: Logger;
  /** undefined when STAFF_OIDC_ISSUER is not set */
  oidc: OidcClient | undefined;
}

const meta = (request: FastifyRequest): RequestMeta => ({
  requestId: request.id,
  ip: request.ip ?? null,
  userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
});

/** The console's own routes (session, logout) answer for a console session only, not for a bearer token. */
function sessionToken(request: FastifyRequest, deps: StaffDeps): string {
  const auth = request.auth;
  if (!auth) throw authenticationRequired();
  const token = readCookie(request, sessionCookie(deps.config.env).name);
  if (auth.actor.type !== 'staff' || !token) throw new AppError('insufficient_scope', 'This route answers for a support console session, not for an access token.');
  return token;
}

function adminActor(request: FastifyRequest): StaffAdminActor {
  if (!request.auth) throw authenticationRequired();
  return { type: request.auth.actor.type, id: request.auth.actor.id, requestId: request.id };
}

function noStore(reply: FastifyReply): void {
  void reply.header('cache-control', 'no-store');
}

export function registerStaffRoutes(app: HttpApp, deps: StaffRouteDeps): void {
  const cookie = sessionCookie(deps.config.env);
  const stateCookie = ssoStateCookie(deps.config.env);

  app.get('/v1/staff/login_options', {
    config: { public: true },
    schema: { operationId: 'getStaffLoginOptions', tags, summary: 'How staff can log in to the support console here', response: { 200: LoginOptionsSchema } },
  }, async () => ({ local: deps.config.staffLocalLogin, sso: deps.oidc !== undefined, environment: deps.config.env }));

  app.post('/v1/staff/login', {
    config: { public: true },
    schema: { operationId: 'createStaffSession',
      tags, summary: 'Log in with a local staff account (email, password and TOTP code); sets the session cookie',
      body: LoginBody, response: { 200: StaffSessionSchema, ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request, reply) => {
    // A login form posted from another site would sign the victim into the attacker's account (login CSRF).
    assertSameOrigin(request, deps.config.publicUrl);
    const { token, live } = await loginWithPassword(deps, request.body, meta(request));
    noStore(reply);
    void reply.setCookie(cookie.name, token, cookie.options);
    return toSessionResource(deps, live, token);
  });

  app.get('/v1/staff/session', {
    schema: { operationId: 'getStaffSession',
      ...session, tags, summary: 'The current console session (with its CSRF token); slides the idle timeout',
      response: { 200: StaffSessionSchema, ...errorResponses(401, 403) },
    },
  }, async (request, reply) => {
    const token = sessionToken(request, deps);
    noStore(reply);
    return toSessionResource(deps, await resolveSession(deps, token), token);
  });

  app.post('/v1/staff/logout', {
    schema: { operationId: 'deleteStaffSession', ...session, tags, summary: 'Log out: the session is revoked on the server and the cookie cleared', response: { 204: Type.Null(), ...errorResponses(401, 403) } },
  }, async (request, reply) => {
    await logout(deps, sessionToken(request, deps), meta(request));
    void reply.clearCookie(cookie.name, cookie.options);
    return reply.code(204).send(null);
  });

  app.get('/v1/staff/sso/start', {
    config: { public: true },
    schema: { operationId: 'startStaffSso',
      tags, summary: 'Start single sign-on: redirects to the identity provider (authorization code + PKCE)',
      querystring: SsoStartQuery, response: { 302: redirect, ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    if (!deps.oidc) throw new AppError('resource_not_found', 'Single sign-on is not configured (STAFF_OIDC_ISSUER).');
    const returnTo = safeReturnTo(request.query.return_to);
    let started: { url: string; state: string };
    try {
      started = await startSso(deps, deps.oidc, returnTo);
    } catch (err) {
      request.log.error({ err }, 'staff SSO could not start');
      return reply.redirect(loginError('sso_failed'), 302);
    }
    noStore(reply);
    void reply.setCookie(stateCookie.name, started.state, stateCookie.options);
    return reply.redirect(started.url, 302);
  });

  app.get('/v1/staff/sso/callback', {
    config: { public: true },
    schema: { operationId: 'completeStaffSso',
      tags, summary: 'Where the identity provider sends the browser back; sets the session cookie and redirects to the console',
      querystring: SsoCallbackQuery, response: { 302: redirect, ...errorResponses(404) },
    },
  }, async (request, reply) => {
    if (!deps.oidc) throw new AppError('resource_not_found', 'Single sign-on is not configured (STAFF_OIDC_ISSUER).');
    const browserState = readCookie(request, stateCookie.name);
    void reply.clearCookie(stateCookie.name, stateCookie.options);
    noStore(reply);
    try {
      const done = await finishSso(deps, deps.oidc, {
        query: request.query as Record<string, unknown>,
        rawQuery: request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '',
        browserState,
      }, meta(request));
      void reply.setCookie(cookie.name, done.token, cookie.options);
      return reply.redirect(done.returnTo, 302);
    } catch (err) {
      if (!(err instanceof SsoError)) throw err;
      request.log.warn({ code: err.code, reason: err.message }, 'staff SSO login refused');
      return reply.redirect(loginError(err.code), 302);
    }
  });

  app.get('/v1/admin/staff_users', {
    schema: { operationId: 'listStaffUsers',
      ...admin, tags, summary: 'List staff users', querystring: StaffUsersPageQuery,
      response: { 200: ListSchema(StaffUserSchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => listStaffUsers(deps, request.query));

  app.post('/v1/admin/staff_users', {
    schema: { operationId: 'createStaffUser',
      ...admin, tags, summary: 'Create a local staff account (its password and TOTP URI are shown once)',
      body: CreateStaffUserBody, response: { 201: StaffUserWithCredentialsSchema, ...errorResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    const created = await createStaffUser(deps, {
      email: request.body.email, displayName: request.body.display_name, role: request.body.role, totp: true,
    }, adminActor(request));
    noStore(reply);
    return reply.code(201).send({ ...created.user, password: created.password, totp_uri: created.totpUri });
  });

  app.post('/v1/admin/staff_users/:id/disable', {
    schema: { operationId: 'disableStaffUser',
      ...admin, tags, summary: 'Disable a staff account: its sessions stop working at once',
      params: StaffUserIdParams, body: DisableStaffUserBody, response: { 200: StaffUserSchema, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => disableStaffUser(deps, request.params.id, request.body.reason, adminActor(request)));
}

const loginError = (code: string): string => `/console/login?error=${encodeURIComponent(code)}`;

