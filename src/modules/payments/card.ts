import { createHmac } from 'node:crypto';
import { luhnValid } from '../../platform/luhn.js';

// A PAN (and CVC) lives only in the request's memory: it goes to the processor and is then dropped.
// What may be stored, returned or logged is brand, last4, expiry and the keyed fingerprint. Every message
// built here is static or uses last4 at most, so a validation error can be logged and returned safely.

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'unknown';

export const CARD_BRANDS: readonly CardBrand[] = Object.freeze([
  'visa',
  'mastercard',
  'amex',
  'discover',
  'jcb',
  'diners',
  'unionpay',
  'unknown',
] as CardBrand[]);

const BRAND_LENGTHS: Readonly<Record<CardBrand, readonly number[]>> = Object.freeze({
  visa: [13, 16, 19],
  mastercard: [16],
  amex: [15],
  discover: [16, 17, 18, 19],
  jcb: [16, 17, 18, 19],
  diners: [14, 15, 16, 17, 18, 19],
  unionpay: [16, 17, 18, 19],
  // No length is valid for a brand we cannot route; see validateCard.
  unknown: [],
});

export function expectedCardLengths(brand: CardBrand): readonly number[] {
  return BRAND_LENGTHS[brand];
}

export const CARD_PARAMS = Object.freeze({
  number: 'payment_method[card][number]',
  exp_month: 'payment_method[card][exp_month]',
  exp_year: 'payment_method[card][exp_year]',
  cvc: 'payment_method[card][cvc]',
} as const);

export type CardParam = (typeof CARD_PARAMS)[keyof typeof CARD_PARAMS];
export type CardErrorCode =
  | 'invalid_number'
  | 'invalid_expiry_month'
  | 'invalid_expiry_year'
  | 'expired_card'
  | 'invalid_cvc';

export interface CardInput {
  number: string;
  exp_month: number;
  exp_year: number;
  /** A string, because a numeric CVC would lose leading zeros ("012"). */
  cvc: string;
}

export type CardValidation =
  | { ok: true; brand: Exclude<CardBrand, 'unknown'>; last4: string }
  | { ok: false; param: CardParam; code: CardErrorCode; message: string };

/** Further than this ahead is a typo (2205 for 2025), not a real card; issuers use ≤ 20 years in practice. */
export const MAX_EXPIRY_YEARS_AHEAD = 50;

const DIGITS = /^[0-9]+$/;

function prefixBetween(number: string, length: number, low: number, high: number): boolean {
  if (number.length < length) return false;
  const prefix = Number(number.slice(0, length));
  return prefix >= low && prefix <= high;
}

/**
 * Brand from the IIN prefix of a digits-only number. 62xxxx is reported as UnionPay even inside the
 * Discover co-branded 622126–622925 range, as Stripe does: UnionPay is the issuing network there.
 */
export function detectCardBrand(number: string): CardBrand {
  if (typeof number !== 'string' || !DIGITS.test(number)) return 'unknown';
  if (/^3[47]/.test(number)) return 'amex';
  if (prefixBetween(number, 4, 3528, 3589)) return 'jcb';
  if (/^3(0[0-5]|095|6|8|9)/.test(number)) return 'diners';
  if (number.startsWith('4')) return 'visa';
  if (prefixBetween(number, 2, 51, 55) || prefixBetween(number, 4, 2221, 2720)) return 'mastercard';
  if (number.startsWith('6011') || prefixBetween(number, 3, 644, 649) || number.startsWith('65')) {
    return 'discover';
  }
  if (number.startsWith('62') || prefixBetween(number, 4, 8100, 8171)) return 'unionpay';
  return 'unknown';
}

/**
 * Local checks before any processor call; a valid result says nothing about funds or fraud (the sandbox
 * decline cards such as 4000000000000002 are valid here and declined by the processor).
 *
 * Decisions:
 * - The number must be digits only: spaces and dashes are rejected, not normalized, as Stripe's API does,
 *   so the number we validate is byte for byte the number we send.
 * - A brand we cannot detect is `invalid_number`: we could not route it to a processor anyway.
 * - Expiry is evaluated in UTC; a card is valid through the last day of its expiry month. At the month
 *   boundary the issuer's time zone may differ by hours; the issuer has the final word.
 * - A past expiry is `expired_card`, on `exp_year` if the year is past, else on `exp_month`.
 * - Checks run in order number → exp_month → exp_year → expiry → cvc; only the first failure is reported.
 */
export function validateCard(card: CardInput, now: Date): CardValidation {
  const { number, exp_month: expMonth, exp_year: expYear, cvc } = card;

  const brand = detectCardBrand(number);
  if (brand === 'unknown' || !BRAND_LENGTHS[brand].includes(number.length) || !luhnValid(number)) {
    return {
      ok: false,
      param: CARD_PARAMS.number,
      code: 'invalid_number',
      message:
        typeof number === 'string' && /[\s-]/.test(number)
          ? 'Your card number is incorrect: send digits only, without spaces or dashes.'
          : 'Your card number is incorrect.',
    };
  }

  if (!Number.isInteger(expMonth) || expMonth < 1 || expMonth > 12) {
    return {
      ok: false,
      param: CARD_PARAMS.exp_month,
      code: 'invalid_expiry_month',
      message: "Your card's expiration month is invalid.",
    };
  }

  const currentYear = now.getUTCFullYear();
  const currentMonth = now.getUTCMonth() + 1;
  if (!Number.isInteger(expYear) || expYear < 1000 || expYear > currentYear + MAX_EXPIRY_YEARS_AHEAD) {
    return {
      ok: false,
      param: CARD_PARAMS.exp_year,
      code: 'invalid_expiry_year',
      message: "Your card's expiration year is invalid: use four digits.",
    };
  }
  if (expYear < currentYear) {
    return { ok: false, param: CARD_PARAMS.exp_year, code: 'expired_card', message: 'Your card has expired.' };
  }
  if (expYear === currentYear && expMonth < currentMonth) {
    return { ok: false, param: CARD_PARAMS.exp_month, code: 'expired_card', message: 'Your card has expired.' };
  }

  const cvcLength = brand === 'amex' ? 4 : 3;
  if (typeof cvc !== 'string' || !DIGITS.test(cvc) || cvc.length !== cvcLength) {
    return {
      ok: false,
      param: CARD_PARAMS.cvc,
      code: 'invalid_cvc',
      message: `Your card's security code is invalid: expected ${cvcLength} digits.`,
    };
  }

  return { ok: true, brand, last4: number.slice(-4) };
}

/** The only view of a PAN that may leave memory besides brand, expiry and fingerprint. */
export function maskCard(number: string): { last4: string } {
  if (typeof number !== 'string' || !DIGITS.test(number) || number.length < 4) {
    // Never echo the input: it may be a PAN with a typo.
    throw new TypeError('maskCard expects a digits-only card number');
  }
  return { last4: number.slice(-4) };
}

/** Bytes of key below which a fingerprint of a ~16-digit PAN could be brute-forced or is a config mistake. */
export const MIN_FINGERPRINT_KEY_BYTES = 32;

/** 22 base64url chars = 132 bits: collision-free at any realistic card volume, short enough to index. */
export const FINGERPRINT_LENGTH = 22;

export function keyedFingerprint(domain: string, parts: readonly string[], key: Buffer | string): string {
  const keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (keyBytes.length < MIN_FINGERPRINT_KEY_BYTES) {
    throw new RangeError(`fingerprint key must be at least ${MIN_FINGERPRINT_KEY_BYTES} bytes`);
  }
  // The domain label keeps a card and a bank account with the same digits from sharing a fingerprint
  // under the same key; the NUL separator keeps ("12","345") and ("123","45") apart.
  const hmac = createHmac('sha256', keyBytes);
  hmac.update(domain);
  for (const part of parts) hmac.update('\0').update(part);
  return hmac.digest('base64url').slice(0, FINGERPRINT_LENGTH);
}

/**
 * Stable per key, so the same card can be recognised across payments and tenants without storing it;
 * without the key it reveals nothing (a plain hash of a PAN is brute-forceable in seconds).
 */
export function cardFingerprint(number: string, key: Buffer | string): string {
  if (typeof number !== 'string' || !DIGITS.test(number)) {
    throw new TypeError('cardFingerprint expects a digits-only card number');
  }
  return keyedFingerprint('nimbuspay:card:v1', [number], key);
}
