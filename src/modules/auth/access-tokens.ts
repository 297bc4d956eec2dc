import { randomBytes } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type JWK, type JWTHeaderParameters } from 'jose';
import type { Db } from '../../platform/db.js';
import type { KeyRing } from '../../platform/crypto.js';
import type { Logger } from '../../platform/logger.js';
import type { AuthContext } from '../../platform/http/scopes.js';
import { invalidToken } from '../../platform/http/auth-hook.js';
import { SIGNING_ALG, loadPublishedKeys, maintainSigningKeys, type KeyLifecycle, type PublishedKeys } from './signing-keys.service.js';

export const CLOCK_TOLERANCE_SECONDS = 30;

export interface TokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/**
 * The process's view of the published signing keys: refreshed at most every `cacheTtlMs` (bounded staleness, so a
 * rotation needs no restart), and at once when a token names a kid we do not know yet (rate-limited, so forged
 * kids cannot hammer the database).
 */
export function createKeyCache(deps: { db: Db; keyRing: KeyRing; life: KeyLifecycle; logger: Logger; cacheTtlMs: number }) {
  let current: PublishedKeys | undefined;
  let loadedAt = 0;
  let lastUnknownKidRefresh = 0;
  let inflight: Promise<PublishedKeys> | undefined;

  const refresh = async (): Promise<PublishedKeys> => {
    inflight ??= (async () => {
      try {
        await maintainSigningKeys(deps.db, deps.keyRing, deps.life);
        current = await loadPublishedKeys(deps.db, deps.keyRing);
        loadedAt = Date.now();
        return current;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };
  const get = async (): Promise<PublishedKeys> => (current && Date.now() - loadedAt < deps.cacheTtlMs ? current : refresh());

  return {
    refresh,
    async jwks(): Promise<{ keys: JWK[] }> {
      return (await get()).jwks;
    },
    async signingKey() {
      const keys = await get();
      if (!keys.signing) throw new Error('no active signing key');
      return keys.signing;
    },
    async verificationKey(kid: string | undefined) {
      if (!kid) return undefined;
      let keys = await get();
      if (!keys.verificationKeys.has(kid) && Date.now() - lastUnknownKidRefresh > 1000) {
        lastUnknownKidRefresh = Date.now();
        keys = await refresh();
      }
      return keys.verificationKeys.get(kid);
    },
  };
}
export type KeyCache = ReturnType<typeof createKeyCache>;

export async function issueAccessToken(
  keys: KeyCache,
  settings: TokenSettings,
  subject: { clientId: string; tenantId: string | null; scopes: string[] },
): Promise<{ token: string; expiresIn: number }> {
  const { kid, key } = await keys.signingKey();
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    client_id: subject.clientId,
    scope: subject.scopes.join(' '),
    ...(subject.tenantId ? { tenant_id: subject.tenantId } : {}),
  })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
    .setIssuer(settings.issuer)
    .setSubject(subject.clientId)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + settings.ttlSeconds)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(key);
  return { token, expiresIn: settings.ttlSeconds };
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim '${err.claim}' is invalid`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWSInvalid) return 'unknown signing key or malformed token';
  if (err instanceof joseErrors.JWTInvalid) return 'malformed token';
  return 'token could not be verified';
}

/**
 * RFC 9068 access-token verification: pinned algorithm, `typ: at+jwt`, issuer, audience, exp/nbf with ≤ 30 s skew,
 * required claims, and a lifetime no longer than we issue. Tenant and scopes come only from here.
 */
export function createAccessTokenVerifier(keys: KeyCache, settings: TokenSettings) {
  return async (token: string): Promise<AuthContext> => {
    let payload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header: JWTHeaderParameters) => {
          const key = await keys.verificationKey(header.kid);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        {
          algorithms: [SIGNING_ALG],
          issuer: settings.issuer,
          audience: settings.audience,
          typ: 'at+jwt',
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'scope'],
          maxTokenAge: `${settings.ttlSeconds + CLOCK_TOLERANCE_SECONDS}s`,
        },
      ));
    } catch (err) {
      throw invalidToken(describe(err));
    }
    // jose bounds iat (not older than the lifetime, not in the future) and exp (not past) but not how far ahead exp
    // is: a token minted with a year-long exp by a leaked or misconfigured signer would live for a year.
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (payload.exp! - payload.iat! > settings.ttlSeconds + CLOCK_TOLERANCE_SECONDS || payload.exp! > nowSeconds + settings.ttlSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw invalidToken('token lifetime exceeds the maximum');
    }
    const { client_id: clientId, scope, tenant_id: tenantId, jti, sub } = payload as Record<string, unknown>;
    if (typeof clientId !== 'string' || typeof scope !== 'string' || sub !== clientId || typeof jti !== 'string'
      || (tenantId !== undefined && typeof tenantId !== 'string')) {
      throw invalidToken('claims are malformed');
    }
    return { clientId, tenantId: (tenantId as string | undefined) ?? null, scopes: new Set(scope.split(' ').filter(Boolean)), tokenId: jti, actor: { type: 'client', id: clientId } };
  };
}
