import { randomBytes } from 'node:crypto';

/** One typed table of id prefixes; ids are time-sortable (48-bit ms timestamp + 80 random bits, Crockford base32). */
export const ID_PREFIXES = {
  tenant: 'ten',
  client: 'cli',
  payment: 'pay',
  attempt: 'att',
  transition: 'trn',
  refund: 're',
  event: 'evt',
  webhookEndpoint: 'we',
  webhookDelivery: 'whd',
  request: 'req',
  signingKey: 'key',
  audit: 'aud',
  staffUser: 'stf',
  staffSession: 'ses',
  supportNote: 'not',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i++) out += ALPHABET[bytes[i]! % 32];
  return out;
}

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${encodeRandom()}`;
}

const ID_BODY = /^[0-9a-hjkmnp-tv-z]{26}$/;

/** True when `id` is well-formed for `kind`; used to answer 404 early without a query. */
export function isId(kind: IdKind, id: string): boolean {
  const prefix = `${ID_PREFIXES[kind]}_`;
  return id.startsWith(prefix) && ID_BODY.test(id.slice(prefix.length));
}
