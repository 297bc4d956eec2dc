import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto';
import { Secret } from './secret.js';

/** Purposes of keys derived from NIMBUSPAY_MASTER_KEY; one key per purpose, so no key is used for two things. */
export type KeyPurpose = 'signing-keys' | 'webhook-secrets' | 'card-fingerprint' | 'bank-fingerprint' | 'idempotency-fingerprint' | 'bank-account-number'
  | 'staff-totp' | 'staff-csrf' | 'client-secrets';

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

/**
 * Slow, salted, memory-hard hash for memorized secrets (staff passwords): `scrypt$N$r$p$salt$hash`. Async, so it
 * never blocks the event loop. Client secrets were stored this way before the keyed hash below; those hashes are
 * still verified, and replaced at their next successful use.
 */
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

/** A hash to spend the same time on when the account does not exist, so timing does not reveal which ones exist. */
export const DUMMY_SECRET_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const CLIENT_SECRET_SCHEME = 'hmac-sha256$v1';

/**
 * Client secrets: HMAC-SHA-256 under a key derived from the master key, `hmac-sha256$v1$<mac>`.
 *
 * Why not scrypt: we generate every client secret with 256 bits of entropy, so no guess list exists for a
 * memory-hard function to slow down (NIST SP 800-63B keeps salted, costly hashing for memorized secrets, §5.1.1.2,
 * not for generated authenticators, §5.1.2/§5.1.3). What scrypt did cost was the server: every attempt, even for a
 * client id that does not exist, burned 16 MiB and tens of milliseconds, so a flood of random ids starved real
 * traffic. A keyed hash costs microseconds for known and unknown ids alike, and a stolen table alone verifies
 * nothing without the master key. The configured platform-admin secret (≥ 24 characters, maybe not random) is
 * hashed the same way: whoever holds both the table and the master key also holds the signing keys, so cracking
 * it would give them nothing more. `v1` names the derived key, so a future master-key rotation can tell hashes apart.
 */
export function hashClientSecret(keyRing: KeyRing, secret: Secret<string>): string {
  return `${CLIENT_SECRET_SCHEME}$${clientSecretMac(keyRing, secret.reveal()).toString('base64url')}`;
}

function clientSecretMac(keyRing: KeyRing, secret: string): Buffer {
  return createHmac('sha256', keyRing.key('client-secrets')).update(secret, 'utf8').digest();
}

/** A client secret hash written before the keyed hash: verify it with scrypt (bounded), then replace it. */
export function isLegacyClientSecretHash(stored: string): boolean {
  return stored.startsWith('scrypt$');
}

/** Constant time in the secret and the stored hash; false for anything that is not a keyed client secret hash. */
export function verifyClientSecret(keyRing: KeyRing, secret: string, stored: string): boolean {
  const actual = clientSecretMac(keyRing, secret);
  const prefix = `${CLIENT_SECRET_SCHEME}$`;
  const expected = stored.startsWith(prefix) ? Buffer.from(stored.slice(prefix.length), 'base64url') : Buffer.alloc(0);
  // compare a full-length buffer even when the stored value is malformed, so every path does the same work
  const comparable = expected.length === actual.length ? expected : Buffer.alloc(actual.length);
  return timingSafeEqual(actual, comparable) && comparable === expected;
}

/** Verified when the client id does not exist: the same HMAC and comparison as a real one, never a match. */
export const DUMMY_CLIENT_SECRET_HASH = `${CLIENT_SECRET_SCHEME}$${Buffer.alloc(32).toString('base64url')}`;

export function generateToken(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}
