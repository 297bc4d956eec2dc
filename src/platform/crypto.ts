import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto';
import { Secret } from './secret.js';

/** Purposes of keys derived from NIMBUSPAY_MASTER_KEY; one key per purpose, so no key is used for two things. */
export type KeyPurpose = 'signing-keys' | 'webhook-secrets' | 'card-fingerprint' | 'bank-fingerprint' | 'idempotency-fingerprint' | 'bank-account-number'
  | 'staff-totp' | 'staff-csrf';

export interface KeyRing {
  /** AES-256-GCM encryption of a secret at rest, bound to its purpose */
  encrypt(purpose: KeyPurpose, plaintext: string): string;
  decrypt(purpose: KeyPurpose, envelope: string): string;
  /** a 32-byte key for keyed fingerprints (HMAC) */
  key(purpose: KeyPurpose): Buffer;
}

export function createKeyRing(masterKey: Secret<string>): KeyRing {
  const master = Buffer.from(masterKey.reveal(), 'base64');
  if (master.length !== 32) throw new Error('master key must be 32 bytes');
  const cache = new Map<KeyPurpose, Buffer>();
  const derive = (purpose: KeyPurpose): Buffer => {
    let k = cache.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `nimbuspay:${purpose}:v1`, 32));
      cache.set(purpose, k);
    }
    return k;
  };
  return {
    encrypt(purpose, plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', derive(purpose), iv);
      cipher.setAAD(Buffer.from(purpose));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
    },
    decrypt(purpose, envelope) {
      const [version, iv, tag, ct] = envelope.split('.');
      if (version !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unrecognised encrypted value');
      const decipher = createDecipheriv('aes-256-gcm', derive(purpose), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(purpose));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
    key: derive,
  };
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(secret: BinaryLike, salt: Buffer, n: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, keylen, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Slow, salted hash for client secrets: `scrypt$N$r$p$salt$hash`. Async, so it never blocks the event loop. */
export async function hashSecret(secret: Secret<string>): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret.reveal(), salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p), expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash to spend the same time on when the client does not exist, so timing does not reveal which ids exist. */
export const DUMMY_SECRET_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export function generateToken(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}
