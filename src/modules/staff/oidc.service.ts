import * as oidc from 'openid-client';
import { withCrossTenantTx } from '../../platform/db.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { STAFF_ROLES, type StaffRole } from '../../platform/http/scopes.js';
import type { Logger } from '../../platform/logger.js';
import * as repo from './staff.repository.js';
import { hashToken, openSession, type LiveSession, type RequestMeta, type StaffDeps } from './staff-sessions.js';
import { emailLocalPart } from './staff-users.service.js';

export const CALLBACK_PATH = '/v1/staff/sso/callback';
const FLOW_TTL_MS = 10 * 60_000;
const DEFAULT_RETURN_TO = '/console/';

/** Why an SSO login failed, as the console's login page shows it (`/console/login?error=…`). */
export type SsoErrorCode = 'sso_failed' | 'no_role' | 'account_conflict' | 'disabled';

export class SsoError extends Error {
  constructor(readonly code: SsoErrorCode, message: string) {
    super(message);
    this.name = 'SsoError';
  }
}

export interface OidcClient {
  /** discovery, done at first use and kept: an identity provider that is down must not stop the API from starting */
  configuration(): Promise<oidc.Configuration>;
}

function isLoopback(issuer: URL): boolean {
  return issuer.hostname === 'localhost' || issuer.hostname === '127.0.0.1' || issuer.hostname === '[::1]';
}

export function createOidcClient(deps: Pick<StaffDeps, 'config'>): OidcClient | undefined {
  const { staffOidcIssuer: issuer, staffOidcClientId: clientId, staffOidcClientSecret: secret, env } = deps.config;
  if (!issuer || !clientId || !secret) return undefined;
  const issuerUrl = new URL(issuer);
  // Plain http only for a provider on this machine (tests, local development), never in production.
  const insecure = issuerUrl.protocol === 'http:' && isLoopback(issuerUrl) && env !== 'production';
  let pending: Promise<oidc.Configuration> | undefined;
  return {
    configuration() {
      pending ??= oidc
        .discovery(issuerUrl, clientId, undefined, oidc.ClientSecretBasic(secret), {
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: 10,
        })
        .catch((err: unknown) => {
          pending = undefined; // try again at the next login
          throw err;
        });
      return pending;
    },
  };
}

/** Only a path of the console itself: never another origin (open redirect) and never `//host`. */
export function safeReturnTo(value: string | undefined): string {
  if (!value) return DEFAULT_RETURN_TO;
  if (!/^\/console(\/|$|\?|#)/.test(value) || /[\\\s]/.test(value) || value.startsWith('//')) {
    throw new AppError('parameter_invalid_format', 'return_to must be a console path starting with /console.', { param: 'return_to' });
  }
  return value;
}

/** Starts an authorization code + PKCE (S256) flow; the caller also sets the state in the browser-binding cookie. */
export async function startSso(deps: StaffDeps, client: OidcClient, returnTo: string): Promise<{ url: string; state: string }> {
  const config = await client.configuration();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const now = deps.now();
  await repo.insertOidcFlow(deps.db, {
    state_hash: hashToken(state), code_verifier: verifier, nonce, return_to: returnTo, created_at: now, expires_at: new Date(now.getTime() + FLOW_TTL_MS),
  });
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${deps.config.publicUrl}${CALLBACK_PATH}`,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url: url.href, state };
}

/** The role a person's claim values give, through the role map (or as role names when there is none); the highest wins. */
export function roleFromClaim(value: unknown, roleMap: Readonly<Record<string, StaffRole>>): StaffRole | undefined {
  const values = Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : [];
  const mapped = values.map((v) => (Object.keys(roleMap).length > 0 ? roleMap[v] : (STAFF_ROLES as readonly string[]).includes(v) ? (v as StaffRole) : undefined));
  let best: StaffRole | undefined;
  for (const role of mapped) if (role && (!best || STAFF_ROLES.indexOf(role) > STAFF_ROLES.indexOf(best))) best = role;
  return best;
}

/**
 * The identity provider's answer: the flow must exist, be unexpired and unused, and match the browser's state
 * cookie; then the code is exchanged (PKCE verifier, state and nonce checked by openid-client) and the person's
 * account is created or updated by (issuer, subject), with the role the provider says today.
 */
export async function finishSso(
  deps: StaffDeps & { logger: Logger },
  client: OidcClient,
  input: { query: Record<string, unknown>; rawQuery: string; browserState: string | undefined },
  meta: RequestMeta,
): Promise<{ token: string; live: LiveSession; returnTo: string }> {
  const state = typeof input.query.state === 'string' ? input.query.state : undefined;
  if (!state) throw new SsoError('sso_failed', 'the callback carried no state');
  const flow = await repo.consumeOidcFlow(deps.db, hashToken(state), deps.now());
  if (!flow) throw new SsoError('sso_failed', 'unknown, expired or already used state');
  if (!input.browserState || input.browserState !== state) throw new SsoError('sso_failed', 'the state does not belong to this browser');

  const config = await client.configuration().catch((err: unknown) => {
    throw new SsoError('sso_failed', `identity provider discovery failed: ${err instanceof Error ? err.message : String(err)}`);
  });
  let claims: Record<string, unknown>;
  try {
    const currentUrl = new URL(`${deps.config.publicUrl}${CALLBACK_PATH}?${input.rawQuery}`);
    const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: flow.code_verifier, expectedState: state, expectedNonce: flow.nonce, idTokenExpected: true,
    });
    claims = { ...(tokens.claims() ?? {}) };
    const rolesClaim = deps.config.staffOidcRolesClaim;
    // Many providers put profile claims only in userinfo when an access token is issued alongside the ID token.
    if ((claims.email === undefined || claims[rolesClaim] === undefined) && tokens.access_token) {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub));
      claims = { ...info, ...claims };
    }
  } catch (err) {
    throw new SsoError('sso_failed', `code exchange failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  const issuer = deps.config.staffOidcIssuer;
  // createOidcClient gives no client (so no SSO route reaches here) when the issuer is not configured.
  if (!issuer) throw new Error('SSO callback handled without STAFF_OIDC_ISSUER configured: there should be no OIDC client');
  const subject = typeof claims.sub === 'string' ? claims.sub : undefined;
  const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : undefined;
  if (!subject || !email) throw new SsoError('sso_failed', 'the identity provider returned no subject or no email');
  const role = roleFromClaim(claims[deps.config.staffOidcRolesClaim], deps.config.staffOidcRoleMap);
  if (!role) throw new SsoError('no_role', `no console role in the '${deps.config.staffOidcRolesClaim}' claim`);
  const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : emailLocalPart(email);

  const opened = await withCrossTenantTx(deps.db, async (tx) => {
    let user = await repo.findStaffUserBySubject(tx, issuer, subject);
    const sameEmail = await repo.findStaffUserByEmail(tx, email);
    if (sameEmail && sameEmail.id !== user?.id) return { error: new SsoError('account_conflict', `email ${email} belongs to another staff account`) };
    if (user) {
      if (user.status !== 'active') return { error: new SsoError('disabled', 'this staff account is disabled') };
      user = await repo.updateExistingStaffUser(tx, user.id, { role, email, display_name: name });
    } else {
      user = await repo.insertStaffUser(tx, {
        id: newId('staffUser'), email, display_name: name, role, password_hash: null, totp_secret_enc: null, oidc_issuer: issuer, oidc_subject: subject, created_at: deps.now(),
      });
    }
    return { session: await openSession(tx, deps, user, 'oidc', meta) };
  });
  if ('error' in opened) throw opened.error;
  return { ...opened.session, returnTo: flow.return_to };
}
