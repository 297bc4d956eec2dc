import { randomBytes } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';
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

/** How many verified tokens a process remembers; the oldest is forgotten first. */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

interface VerifiedToken {
  auth: AuthContext;
  /** The key object that verified the signature: the entry holds only while the key cache still has this one. */
  key: CryptoKey;
  kid: string;
  exp: number;
  iat: number;
}

/**
 * RFC 9068 access-token verification: pinned algorithm, `typ: at+jwt`, issuer, audience, exp/nbf with ≤ 30 s skew,
 * required claims, and a lifetime no longer than we issue. Tenant and scopes come only from here.
 *
 * A client sends the same token on every request until it expires, and an ES256 signature check was the largest
 * share of the API's CPU per payment after the database driver. A token that passed every check is therefore
 * remembered (by its exact text) with the key object that verified it. A later request with the same text is
 * answered from memory only while that key object is still the one the key cache holds for its kid (the key cache
 * imports new key objects at every refresh, so a retired key ends its tokens exactly as before) and while the
 * time-dependent checks still pass, computed as jose computes them; otherwise the token is verified from scratch,
 * which also gives the precise error. A token that failed is never remembered.
 */
export function createAccessTokenVerifier(keys: KeyCache, settings: TokenSettings, options: { now?: () => number } = {}) {
  const nowMs = options.now ?? Date.now;
  const maxTokenAgeSeconds = settings.ttlSeconds + CLOCK_TOLERANCE_SECONDS;
  const verified = new Map<string, VerifiedToken>();

  // jose's checks at `now` (whole seconds): exp > now − tolerance, and now − iat − tolerance ≤ maxTokenAge.
  // nbf, the future-iat check and our lifetime check cannot turn from passing to failing as time goes on.
  const stillInTime = (entry: VerifiedToken, nowSeconds: number) =>
    entry.exp > nowSeconds - CLOCK_TOLERANCE_SECONDS && nowSeconds - entry.iat - CLOCK_TOLERANCE_SECONDS <= maxTokenAgeSeconds;

  async function verifyFully(token: string): Promise<VerifiedToken> {
    let payload;
    let verifiedWith: { key: CryptoKey; kid: string } | undefined;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header: JWTHeaderParameters) => {
          const { kid } = header;
          if (kid === undefined) throw new joseErrors.JWKSNoMatchingKey();
          const key = await keys.verificationKey(kid);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          verifiedWith = { key, kid };
          return key;
        },
        {
          algorithms: [SIGNING_ALG],
          issuer: settings.issuer,
          audience: settings.audience,
          typ: 'at+jwt',
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'scope'],
          maxTokenAge: `${maxTokenAgeSeconds}s`,
          currentDate: new Date(nowMs()),
        },
      ));
    } catch (err) {
      throw invalidToken(describe(err));
    }
    // jose bounds iat (not older than the lifetime, not in the future) and exp (not past) but not how far ahead exp
    // is: a token minted with a year-long exp by a leaked or misconfigured signer would live for a year.
    const { exp, iat } = payload;
    if (exp === undefined || iat === undefined) throw new Error('jose accepted a token without the exp and iat it was told to require');
    if (!verifiedWith) throw new Error('jose accepted a token without asking for its verification key');
    const nowSeconds = Math.floor(nowMs() / 1000);
    if (exp - iat > settings.ttlSeconds + CLOCK_TOLERANCE_SECONDS || exp > nowSeconds + settings.ttlSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw invalidToken('token lifetime exceeds the maximum');
    }
    const { client_id: clientId, scope, tenant_id: tenantId, jti, sub } = payload as Record<string, unknown>;
    if (typeof clientId !== 'string' || typeof scope !== 'string' || sub !== clientId || typeof jti !== 'string'
      || (tenantId !== undefined && typeof tenantId !== 'string')) {
      throw invalidToken('claims are malformed');
    }
    const auth: AuthContext = Object.freeze({
      clientId, tenantId: (tenantId as string | undefined) ?? null, scopes: new Set(scope.split(' ').filter(Boolean)), tokenId: jti,
      actor: Object.freeze({ type: 'client' as const, id: clientId }),
    });
    return { auth, ...verifiedWith, exp, iat };
  }

  return async (token: string): Promise<AuthContext> => {
    const known = verified.get(token);
    if (known) {
      if (stillInTime(known, Math.floor(nowMs() / 1000)) && (await keys.verificationKey(known.kid)) === known.key) return known.auth;
      verified.delete(token);
    }
    const entry = await verifyFully(token);
    if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, entry);
    return entry.auth;
  };
}
