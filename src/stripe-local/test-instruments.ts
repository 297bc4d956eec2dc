/**
 * Stripe's documented test card numbers and ACH test accounts (docs.stripe.com/testing), and the checks Stripe
 * makes on a raw card before it reaches an issuer. The number alone decides the outcome, as in Stripe test mode.
 */

import { createHmac } from 'node:crypto';
import { luhnValid } from '../platform/luhn.js';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'unknown';
export type CardFunding = 'credit' | 'debit' | 'prepaid' | 'unknown';

export type CardBehaviour =
  | { kind: 'approve' }
  | { kind: 'decline'; code: string; declineCode?: string; message: string; param?: string }
  /** Charge succeeds; a refund answers `succeeded`, then turns `failed` (reason `expired_or_canceled_card`). */
  | { kind: 'approve_refund_fails_later' };

const DECLINE_MESSAGE = 'Your card was declined.';

const CARD_BEHAVIOURS: ReadonlyMap<string, CardBehaviour> = new Map<string, CardBehaviour>([
  ['4000000000000002', { kind: 'decline', code: 'card_declined', declineCode: 'generic_decline', message: DECLINE_MESSAGE }],
  ['4000000000009995', { kind: 'decline', code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' }],
  ['4000000000009987', { kind: 'decline', code: 'card_declined', declineCode: 'lost_card', message: DECLINE_MESSAGE }],
  ['4000000000009979', { kind: 'decline', code: 'card_declined', declineCode: 'stolen_card', message: DECLINE_MESSAGE }],
  ['4000000000006975', { kind: 'decline', code: 'card_declined', declineCode: 'card_velocity_exceeded', message: DECLINE_MESSAGE }],
  ['4000000000000069', { kind: 'decline', code: 'expired_card', message: 'Your card has expired.', param: 'exp_month' }],
  ['4000000000000127', { kind: 'decline', code: 'incorrect_cvc', message: "Your card's security code is incorrect.", param: 'cvc' }],
  ['4000000000000119', { kind: 'decline', code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' }],
  ['4000000000005126', { kind: 'approve_refund_fails_later' }],
]);

const FUNDING_BY_NUMBER: ReadonlyMap<string, CardFunding> = new Map<string, CardFunding>([
  ['4000056655665556', 'debit'],
  ['5200828282828210', 'debit'],
  ['5105105105105100', 'prepaid'],
  ['6011981111111113', 'debit'],
  ['6200000000000047', 'debit'],
]);

export function cardBehaviour(number: string): CardBehaviour {
  return CARD_BEHAVIOURS.get(number) ?? { kind: 'approve' };
}

/** Keyed, so a stored fingerprint reveals nothing about the number without the server's key. */
export function instrumentFingerprint(key: string, number: string): string {
  return createHmac('sha256', key).update(number).digest('base64url').slice(0, 16);
}

const behavioursByFingerprint = new Map<string, ReadonlyMap<string, CardBehaviour>>();

/**
 * The behaviour of a stored card PaymentMethod, found from its keyed fingerprint (the number itself is never
 * stored): the fingerprints of the test cards under the server's key are computed once.
 */
export function cardBehaviourOfFingerprint(fingerprint: string, fingerprintKey: string): CardBehaviour {
  let table = behavioursByFingerprint.get(fingerprintKey);
  if (!table) {
    table = new Map([...CARD_BEHAVIOURS].map(([number, behaviour]) => [instrumentFingerprint(fingerprintKey, number), behaviour]));
    behavioursByFingerprint.set(fingerprintKey, table);
  }
  return table.get(fingerprint) ?? { kind: 'approve' };
}

export function cardFunding(number: string): CardFunding {
  return FUNDING_BY_NUMBER.get(number) ?? 'credit';
}

export function detectCardBrand(number: string): CardBrand {
  if (/^4/.test(number)) return 'visa';
  if (/^(5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^(6011|65|64[4-9])/.test(number)) return 'discover';
  if (/^35(2[89]|[3-8])/.test(number)) return 'jcb';
  if (/^(30[0-5]|3095|36|3[89])/.test(number)) return 'diners';
  if (/^62/.test(number)) return 'unionpay';
  return 'unknown';
}

/** Stripe's length rule for a raw card number: 12 to 19 digits (the brand's own lengths are not checked). */
const STRIPE_CARD_NUMBER = /^\d{12,19}$/;

export interface RawCard {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc?: string;
}

export type CardCheckFailure = { code: string; message: string; param: string };

/**
 * The checks Stripe makes when a PaymentMethod is created from raw numbers, before any charge: a malformed
 * number, an impossible or past expiry, or a malformed CVC fails here with a card_error and nothing is charged.
 */
export function checkRawCard(card: RawCard, nowMs: number): CardCheckFailure | undefined {
  const number = card.number.replace(/[\s-]/g, '');
  if (!STRIPE_CARD_NUMBER.test(number) || !luhnValid(number)) {
    return { code: 'incorrect_number', message: 'Your card number is incorrect.', param: 'number' };
  }
  if (card.exp_month < 1 || card.exp_month > 12) {
    return { code: 'invalid_expiry_month', message: "Your card's expiration month is invalid.", param: 'exp_month' };
  }
  const now = new Date(nowMs);
  // Stripe accepts two-digit years as 20YY.
  const year = card.exp_year < 100 ? 2000 + card.exp_year : card.exp_year;
  if (year < now.getUTCFullYear() || year > now.getUTCFullYear() + 50) {
    return { code: 'invalid_expiry_year', message: "Your card's expiration year is invalid.", param: 'exp_year' };
  }
  if (year === now.getUTCFullYear() && card.exp_month < now.getUTCMonth() + 1) {
    return { code: 'invalid_expiry_month', message: "Your card's expiration month is invalid.", param: 'exp_month' };
  }
  const brand = detectCardBrand(number);
  const cvcLength = brand === 'amex' ? [3, 4] : [3];
  if (card.cvc !== undefined && (!/^\d+$/.test(card.cvc) || !cvcLength.includes(card.cvc.length))) {
    return { code: 'invalid_cvc', message: "Your card's security code is invalid.", param: 'cvc' };
  }
  return undefined;
}

/** The routing number of Stripe's ACH test bank. */
export const TEST_ROUTING_NUMBER = '110000000';
export const TEST_BANK_NAME = 'STRIPE TEST BANK';

export type BankFailureCode = 'account_closed' | 'no_account' | 'insufficient_funds' | 'debit_not_authorized' | 'invalid_currency';

export type BankBehaviour =
  | { kind: 'settle' }
  | { kind: 'fail'; code: BankFailureCode; message: string }
  /** Settles, then the customer's bank returns it as unauthorized: a dispute. */
  | { kind: 'settle_then_dispute' }
  /** Stays `processing` (for testing cancellation). */
  | { kind: 'stay_processing' };

const BANK_BEHAVIOURS: ReadonlyMap<string, BankBehaviour> = new Map<string, BankBehaviour>([
  ['000123456789', { kind: 'settle' }],
  ['000111111113', { kind: 'fail', code: 'account_closed', message: "The customer's bank account has been closed." }],
  ['000111111116', { kind: 'fail', code: 'no_account', message: "The customer's bank account could not be located." }],
  ['000222222227', { kind: 'fail', code: 'insufficient_funds', message: "The customer's account has insufficient funds to cover this payment." }],
  ['000333333335', { kind: 'fail', code: 'debit_not_authorized', message: 'The customer notified their bank that this payment was unauthorized.' }],
  ['000444444440', { kind: 'fail', code: 'invalid_currency', message: 'The bank was unable to process this payment because of its currency.' }],
  ['000555555559', { kind: 'settle_then_dispute' }],
  ['000000000009', { kind: 'stay_processing' }],
]);

export function bankBehaviour(accountNumber: string): BankBehaviour {
  return BANK_BEHAVIOURS.get(accountNumber) ?? { kind: 'settle' };
}
