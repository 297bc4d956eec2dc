import { randomBytes } from 'node:crypto';

/** Prefixes of the objects this server makes, as Stripe spells them. */
export const STRIPE_ID_PREFIXES = {
  paymentIntent: 'pi',
  paymentMethod: 'pm',
  charge: 'ch',
  refund: 're',
  dispute: 'dp',
  event: 'evt',
  mandate: 'mandate',
  balanceTransaction: 'txn',
  request: 'req',
} as const;

export type StripeObjectKind = keyof typeof STRIPE_ID_PREFIXES;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlphanumeric(length: number): string {
  let out = '';
  // 256 % 62 skews a few characters slightly; ids only need to be unique, not uniform.
  for (const byte of randomBytes(length)) out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
  return out;
}

/** Stripe ids are a prefix and 24 base-62 characters (request ids 14). */
export function newStripeId(kind: StripeObjectKind): string {
  return `${STRIPE_ID_PREFIXES[kind]}_${randomAlphanumeric(kind === 'request' ? 14 : 24)}`;
}

export function unixSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}
