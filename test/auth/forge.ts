/**
 * Token forgery kit for the verification tests: the platform's real signing key (read from PostgreSQL and
 * decrypted with the test master key, exactly as the API does), attacker keys, and raw JWS assembly for
 * headers that jose refuses to produce (alg none, HS256 with a public key).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { SignJWT, generateKeyPair, importJWK, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createKeyRing } from '../../src/platform/crypto.js';
import { Secret } from '../../src/platform/secret.js';
import type { TestPlatform } from '../helpers/platform.js';
import { ADMIN_CLIENT_ID } from '../helpers/tenants.js';

export interface SigningKey {
  kid: string;
  key: CryptoKey;
}

/** The key that signs right now, decrypted from `signing_keys.private_key_enc` with NIMBUSPAY_MASTER_KEY. */
export async function activeSigningKey(platform: TestPlatform): Promise<SigningKey & { privateJwk: JWK; publicJwk: JWK }> {
  const row = await platform.database.db
    .selectFrom('signing_keys').select(['kid', 'private_key_enc', 'public_jwk']).where('status', '=', 'active').executeTakeFirstOrThrow();
  const keyRing = createKeyRing(new Secret(platform.config.masterKey!));
  const privateJwk = JSON.parse(keyRing.decrypt('signing-keys', row.private_key_enc)) as JWK;
  return { kid: row.kid, key: (await importJWK(privateJwk, 'ES256')) as CryptoKey, privateJwk, publicJwk: row.public_jwk as JWK };
}

export async function attackerKey(kid = `key_${randomBytes(12).toString('base64url')}`): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES256');
  return { kid, key: privateKey };
}

const now = () => Math.floor(Date.now() / 1000);

/** Claims of a valid platform-admin token; tests override one thing at a time. */
export function adminClaims(platform: TestPlatform, overrides: Record<string, unknown> = {}): JWTPayload {
  const t = now();
  return {
    iss: platform.config.issuerUrl,
    aud: platform.config.audience,
    sub: ADMIN_CLIENT_ID,
    client_id: ADMIN_CLIENT_ID,
    scope: 'platform:admin',
    iat: t,
    nbf: t,
    exp: t + 300,
    jti: randomBytes(16).toString('base64url'),
    ...overrides,
  };
}

/** Signs with ES256; `header` overrides the protected header (typ, kid) and `undefined` values drop a field. */
export async function sign(key: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const h = Object.fromEntries(Object.entries({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header }).filter(([, v]) => v !== undefined));
  const cleaned = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(cleaned).setProtectedHeader(h as { alg: string }).sign(key.key);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export function unsignedToken(header: Record<string, unknown>, claims: JWTPayload): string {
  return `${b64(header)}.${b64(claims)}.`;
}

/** The classic alg-confusion forgery: HMAC-SHA256 keyed with the verifier's public key. */
export function hs256Token(secret: string | Buffer, header: Record<string, unknown>, claims: JWTPayload): string {
  const input = `${b64({ alg: 'HS256', ...header })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Replaces the payload of a signed token, keeping its header and signature. */
export function withPayload(token: string, claims: JWTPayload): string {
  const [h, , s] = token.split('.');
  return `${h}.${b64(claims)}.${s}`;
}

export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
