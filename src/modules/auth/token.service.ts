import type { Db } from '../../platform/db.js';
import type { KeyRing } from '../../platform/crypto.js';
import { createWorkLimit, type WorkLimit, type WorkLimitOptions } from '../../platform/work-limit.js';
import { issueAccessToken, type KeyCache, type TokenSettings } from './access-tokens.js';
import { DEFAULT_THROTTLE, authenticateTokenClient, type ClientAuthDeps, type ThrottlePolicy } from './client-auth.service.js';

/**
 * Legacy scrypt verifications at once per process, and how many may wait. Each keeps a core busy for tens of
 * milliseconds, and an API pod has at most one CPU (deploy/k8s/base/api-deployment.yaml; the host's core count says
 * nothing about a container's quota): two at once on a 2-core machine already left the event loop too little, and
 * valid token requests took seconds under a flood of guesses at one legacy client. Eight waiting is under a second
 * of work; legacy hashes only serve until each client's next success replaces them.
 */
const DEFAULT_HASH_WORK: WorkLimitOptions = { concurrency: 1, maxQueued: 8, order: 'fifo' };

/**
 * The database part of client authentications (reservation and lookup) in progress per process: four of the
 * default pool of ten connections. Without it, 64 failing callers held every connection and a payment waited a
 * second or more for one. LIFO, because under a flood the newest request is the likeliest to be a real client's
 * first try, while the flood's backlog is refused after 2 s (its callers retry after Retry-After like anyone else).
 */
const DEFAULT_ADMISSION: WorkLimitOptions = { concurrency: 4, maxQueued: 64, order: 'lifo', maxWaitMs: 2_000 };

export interface TokenDeps {
  clientAuth: ClientAuthDeps;
  keys: KeyCache;
  settings: TokenSettings;
}

export function createTokenDeps(deps: {
  db: Db; keys: KeyCache; keyRing: KeyRing; settings: TokenSettings;
  throttle?: ThrottlePolicy | undefined; hashWork?: WorkLimit | undefined; admission?: WorkLimit | undefined; now?: (() => Date) | undefined;
}): TokenDeps {
  return {
    keys: deps.keys,
    settings: deps.settings,
    clientAuth: {
      db: deps.db,
      keyRing: deps.keyRing,
      hashWork: deps.hashWork ?? createWorkLimit(DEFAULT_HASH_WORK),
      admission: deps.admission ?? createWorkLimit(DEFAULT_ADMISSION),
      policy: deps.throttle ?? DEFAULT_THROTTLE,
      now: deps.now ?? (() => new Date()),
    },
  };
}

/** A client-credentials token request, as the route parsed it (RFC 6749 §4.4.2). */
export interface TokenRequest {
  clientId: string;
  secret: string;
  /** The address the trusted proxy reports: what the throttle counts failures by. */
  source: string;
  grantType: string | undefined;
  /** Space-separated; undefined means every scope the client has. */
  scope: string | undefined;
}

export type TokenOutcome =
  | { outcome: 'issued'; token: string; expiresIn: number; scopes: string[] }
  | { outcome: 'throttled'; by: 'client' | 'address'; retryAfterSeconds: number }
  | { outcome: 'busy'; retryAfterSeconds: number }
  /** the secret is right, but the client's tenant is suspended */
  | { outcome: 'unauthorized_client' }
  /** wrong secret, unknown or revoked client: one answer for all, so it reveals nothing */
  | { outcome: 'invalid_client'; reason: 'invalid' | 'revoked' }
  | { outcome: 'grant_type_missing' }
  | { outcome: 'unsupported_grant_type' }
  /** `notGranted` is the first requested scope the client lacks; undefined when the scope parameter is empty */
  | { outcome: 'invalid_scope'; notGranted: string | undefined };

/**
 * The token endpoint's use case: authenticate the client (throttled, see client-auth.service.ts), then check the
 * grant and the scopes, then issue. The grant is judged only for an authenticated client, so an unauthenticated
 * caller learns nothing about what a client may ask for.
 */
export async function requestToken(deps: TokenDeps, request: TokenRequest): Promise<TokenOutcome> {
  const auth = await authenticateTokenClient(deps.clientAuth, request.clientId, request.secret, request.source);
  if (auth.outcome !== 'authenticated') return auth;
  if (request.grantType === undefined) return { outcome: 'grant_type_missing' };
  if (request.grantType !== 'client_credentials') return { outcome: 'unsupported_grant_type' };
  const { client } = auth;
  let scopes = client.scopes;
  if (request.scope !== undefined) {
    const requested = request.scope.split(' ').filter(Boolean);
    const notGranted = requested.find((s) => !client.scopes.includes(s));
    if (requested.length === 0 || notGranted) return { outcome: 'invalid_scope', notGranted };
    scopes = [...new Set(requested)];
  }
  const { token, expiresIn } = await issueAccessToken(deps.keys, deps.settings, { clientId: client.id, tenantId: client.tenantId, scopes });
  return { outcome: 'issued', token, expiresIn, scopes };
}
