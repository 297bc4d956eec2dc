import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Db } from '../../platform/db.js';
import type { KeyRing } from '../../platform/crypto.js';
import * as repo from './signing-keys.repository.js';

export const SIGNING_ALG = 'ES256' as const;

export interface KeyLifecycle {
  /** tokens live at most this long */
  tokenTtlSeconds: number;
  /** verifier clock tolerance */
  clockToleranceSeconds: number;
  /** how long a replica may keep signing with a cached key after another replica promoted a new one */
  signingCacheTtlMs: number;
}

export interface SigningKeySummary {
  kid: string;
  alg: string;
  status: string;
  created_at: string;
  activate_after: string | null;
  activated_at: string | null;
  retire_after: string | null;
  retired_at: string | null;
}

function summary(row: repo.SigningKeyRow): SigningKeySummary {
  return {
    kid: row.kid, alg: row.alg, status: row.status, created_at: row.created_at.toISOString(),
    activate_after: row.activate_after?.toISOString() ?? null, activated_at: row.activated_at?.toISOString() ?? null,
    retire_after: row.retire_after?.toISOString() ?? null, retired_at: row.retired_at?.toISOString() ?? null,
  };
}

async function newKeyRow(keyRing: KeyRing) {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = `key_${randomBytes(12).toString('base64url')}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  const privateJwk = await exportJWK(privateKey);
  return { kid, alg: SIGNING_ALG, public_jwk: publicJwk, private_key_enc: keyRing.encrypt('signing-keys', JSON.stringify(privateJwk)) };
}

/**
 * Moves keys along next → active → retiring → retired. Idempotent and safe from any number of replicas (advisory
 * lock). A retiring key stays published until every token it may have signed has expired: its last signature can
 * come up to `signingCacheTtlMs` after promotion (another replica's cache), and lives `tokenTtlSeconds` more.
 */
export async function maintainSigningKeys(db: Db, keyRing: KeyRing, life: KeyLifecycle, now: Date = new Date()): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await repo.lockKeyMaintenance(tx);
    const keys = await repo.listPublishedKeys(tx);
    const active = keys.find((k) => k.status === 'active');
    const due = keys.filter((k) => k.status === 'next' && k.activate_after !== null && k.activate_after <= now);
    // the latest key due to activate, if any is due
    const next = due.at(-1);
    if (!active && !keys.some((k) => k.status === 'next')) {
      await repo.insertKey(tx, { ...(await newKeyRow(keyRing)), status: 'active', activate_after: null, activated_at: now });
    } else if (next !== undefined) {
      if (active) {
        const retireAfter = new Date(now.getTime() + life.signingCacheTtlMs + (life.tokenTtlSeconds + life.clockToleranceSeconds) * 1000);
        await repo.markRetiring(tx, active.kid, now, retireAfter);
      }
      await repo.markActive(tx, next.kid, now);
      // Keys published before the one just promoted were superseded by a later rotation. They never signed, so
      // they retire at once; left as 'next', the next maintenance run would promote them over the newer key.
      const superseded = keys.filter((k) => k.status === 'next' && k.kid !== next.kid && k.created_at <= next.created_at);
      await repo.retireUnusedKeys(tx, superseded.map((k) => k.kid), now);
    } else if (!active) {
      const first = keys.find((k) => k.status === 'next');
      if (first) await repo.markActive(tx, first.kid, now);
    }
    await repo.retireExpired(tx, now);
  });
}

/** Publishes a new key now; it starts signing after `activationDelaySeconds` (let JWKS caches see it first). */
export async function rotateSigningKey(db: Db, keyRing: KeyRing, life: KeyLifecycle, activationDelaySeconds: number, now: Date = new Date()): Promise<SigningKeySummary> {
  const row = await newKeyRow(keyRing);
  await db.transaction().execute(async (tx) => {
    await repo.lockKeyMaintenance(tx);
    await repo.insertKey(tx, { ...row, status: 'next', activate_after: new Date(now.getTime() + activationDelaySeconds * 1000), activated_at: null });
  });
  await maintainSigningKeys(db, keyRing, life, now);
  const all = await repo.listAllKeys(db);
  const rotated = all.find((k) => k.kid === row.kid);
  if (!rotated) throw new Error(`signing key ${row.kid} inserted by this rotation is not listed`);
  return summary(rotated);
}

export async function listSigningKeys(db: Db): Promise<SigningKeySummary[]> {
  return (await repo.listAllKeys(db)).map(summary);
}

export interface PublishedKeys {
  jwks: { keys: JWK[] };
  verificationKeys: Map<string, CryptoKey>;
  signing: { kid: string; key: CryptoKey } | undefined;
}

export async function loadPublishedKeys(db: Db, keyRing: KeyRing): Promise<PublishedKeys> {
  const rows = await repo.listPublishedKeys(db);
  const verificationKeys = new Map<string, CryptoKey>();
  const jwks: JWK[] = [];
  let signing: PublishedKeys['signing'];
  for (const row of rows) {
    const jwk = row.public_jwk as JWK;
    jwks.push(jwk);
    verificationKeys.set(row.kid, (await importJWK(jwk, SIGNING_ALG)) as CryptoKey);
    if (row.status === 'active') {
      const privateJwk = JSON.parse(keyRing.decrypt('signing-keys', row.private_key_enc)) as JWK;
      signing = { kid: row.kid, key: (await importJWK(privateJwk, SIGNING_ALG)) as CryptoKey };
    }
  }
  return { jwks: { keys: jwks }, verificationKeys, signing };
}
