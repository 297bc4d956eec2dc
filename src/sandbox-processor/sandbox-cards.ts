import { luhnValid } from '../platform/luhn.js';
/** Deterministic test cards of the sandbox acquirer: the number alone decides the outcome. */

export type SandboxCardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'unknown';

export type CardScenario =
  | { kind: 'approve' }
  | { kind: 'decline'; code: string; message: string }
  /** Answer 500 to every attempt and record nothing (a broken acquirer endpoint). */
  | { kind: 'fail_server_error' }
  /** Approve and record at once, but hold the HTTP answer so the client times out (lost response). */
  | { kind: 'approve_response_lost' }
  /** Hold the answer and record nothing (request lost before the acquirer acted). */
  | { kind: 'lost_before_recording' }
  /** Approve; every later refund of this authorization is declined. */
  | { kind: 'approve_refunds_declined' };

const CARD_SCENARIOS: ReadonlyMap<string, CardScenario> = new Map<string, CardScenario>([
  ['4000000000000002', { kind: 'decline', code: 'card_declined', message: 'The card was declined.' }],
  ['4000000000009995', { kind: 'decline', code: 'insufficient_funds', message: 'The card has insufficient funds.' }],
  ['4000000000000069', { kind: 'decline', code: 'expired_card', message: 'The card has expired.' }],
  ['4000000000000127', { kind: 'decline', code: 'incorrect_cvc', message: "The card's security code is incorrect." }],
  ['4000000000000119', { kind: 'fail_server_error' }],
  ['4000000000000408', { kind: 'approve_response_lost' }],
  ['4000000000000416', { kind: 'lost_before_recording' }],
  ['4000000000000424', { kind: 'approve_refunds_declined' }],
]);

/**
 * Numbers that approve, one per common brand (any other Luhn-valid number approves too). Listed for the testing
 * guide, which renders this list and the scenarios below, so the documentation cannot drift from the sandbox.
 */
export const SANDBOX_APPROVED_CARDS: readonly string[] = ['4242424242424242', '5555555555554444', '378282246310005'];

/** Every test number with a special outcome, in table order (the testing guide renders them). */
export function listCardScenarios(): ReadonlyArray<readonly [string, CardScenario]> {
  return [...CARD_SCENARIOS];
}

/**
 * The sandbox's own length rule, looser than the API's per-brand lengths (src/modules/payments/card.ts): any 12 to 19
 * digits, so that a number the API would refuse can still be sent to the sandbox directly and be declined by it.
 */
const SANDBOX_CARD_NUMBER = /^\d{12,19}$/;

export function detectCardBrand(number: string): SandboxCardBrand {
  if (/^4/.test(number)) return 'visa';
  if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^(6011|65|64[4-9])/.test(number)) return 'discover';
  return 'unknown';
}

/** A card is valid through the last day of its expiry month (UTC). */
export function isCardExpired(expMonth: number, expYear: number, nowMs: number): boolean {
  const firstInstantAfterExpiry = Date.UTC(expYear, expMonth, 1); // month is 0-based, so this is the next month
  return nowMs >= firstInstantAfterExpiry;
}

/**
 * Outcome for a card. Luhn-invalid numbers and expired dates are declined like a real issuer would; the table's
 * `expired_card` test number is declined regardless of the date it is sent with.
 */
export function resolveCardScenario(card: { number: string; expMonth: number; expYear: number }, nowMs: number): CardScenario {
  if (!SANDBOX_CARD_NUMBER.test(card.number) || !luhnValid(card.number)) {
    return { kind: 'decline', code: 'invalid_number', message: 'The card number is not a valid card number.' };
  }
  const scenario = CARD_SCENARIOS.get(card.number) ?? { kind: 'approve' };
  if (scenario.kind !== 'decline' && scenario.kind !== 'fail_server_error' && isCardExpired(card.expMonth, card.expYear, nowMs)) {
    return { kind: 'decline', code: 'expired_card', message: 'The card has expired.' };
  }
  return scenario;
}
