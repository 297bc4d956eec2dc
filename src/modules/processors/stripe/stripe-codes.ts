import type { CardBrand, DeclineCode } from '../processor-port.js';

/**
 * Stripe's codes in NimbusPay's words. Stripe reports a card decline as `code` (`card_declined`, `expired_card`,
 * `incorrect_cvc`, …) and, for `card_declined`, the issuer's reason as `decline_code`. The raw codes are kept as
 * the outcome's `processorCode`; the README documents this table.
 */

/** `decline_code` of a `card_declined` error → NimbusPay's failure code. Unlisted issuer reasons stay `card_declined`. */
const DECLINE_CODES: Readonly<Record<string, DeclineCode>> = {
  insufficient_funds: 'insufficient_funds',
  card_velocity_exceeded: 'insufficient_funds',
  withdrawal_count_limit_exceeded: 'insufficient_funds',
  expired_card: 'expired_card',
  incorrect_cvc: 'incorrect_cvc',
  invalid_cvc: 'incorrect_cvc',
  incorrect_number: 'invalid_number',
  invalid_number: 'invalid_number',
};

/** `code` of a card error → NimbusPay's failure code. */
const ERROR_CODES: Readonly<Record<string, DeclineCode>> = {
  card_declined: 'card_declined',
  expired_card: 'expired_card',
  incorrect_cvc: 'incorrect_cvc',
  invalid_cvc: 'incorrect_cvc',
  incorrect_number: 'invalid_number',
  invalid_number: 'invalid_number',
  invalid_expiry_month: 'expired_card',
  invalid_expiry_year: 'expired_card',
  authentication_required: 'processor_declined',
};

/** A card decline in NimbusPay's words; `processorCode` is Stripe's most specific code, verbatim. */
export function declineCodeFor(code: string | undefined, declineCode: string | undefined): { code: DeclineCode; processorCode: string } {
  if (code === 'card_declined' && declineCode) {
    return { code: DECLINE_CODES[declineCode] ?? 'card_declined', processorCode: declineCode };
  }
  const raw = code ?? declineCode ?? 'unknown';
  return { code: ERROR_CODES[raw] ?? 'processor_declined', processorCode: raw };
}

const KNOWN_BRANDS: ReadonlySet<string> = new Set<CardBrand>(['visa', 'mastercard', 'amex', 'discover']);

export function cardBrandOf(stripeBrand: string | null | undefined): CardBrand {
  return stripeBrand && KNOWN_BRANDS.has(stripeBrand) ? (stripeBrand as CardBrand) : 'unknown';
}

/**
 * Stripe's ACH failure codes → the NACHA return code NimbusPay records (and maps to its own failure code).
 * Stripe does not expose the R-code itself; this is the documented correspondence of its failure codes.
 */
const ACH_RETURN_CODES: Readonly<Record<string, { code: string; reason: string }>> = {
  insufficient_funds: { code: 'R01', reason: 'Insufficient funds' },
  account_closed: { code: 'R02', reason: 'Account closed' },
  no_account: { code: 'R03', reason: 'No account/unable to locate account' },
  invalid_account_number: { code: 'R04', reason: 'Invalid account number' },
  debit_not_authorized: { code: 'R10', reason: 'Customer advises unauthorized' },
  account_frozen: { code: 'R16', reason: 'Account frozen' },
  bank_account_restricted: { code: 'R16', reason: 'Account restricted' },
};

export function achReturnFor(failureCode: string | null | undefined): { code: string; reason: string } {
  const known = failureCode ? ACH_RETURN_CODES[failureCode] : undefined;
  // No NACHA code for this failure: NimbusPay's return-code table turns an unlisted code into `bank_account_unusable`.
  return known ?? { code: failureCode ? `stripe:${failureCode}` : 'stripe:unknown', reason: failureCode ?? 'The bank rejected the debit.' };
}

/** A dispute of a settled ACH debit is the customer's bank taking the money back: an unauthorized-debit return. */
export const ACH_DISPUTE_RETURN = { code: 'R10', reason: 'Customer advises unauthorized (disputed)' } as const;

/** Metadata keys NimbusPay sets on every Stripe object it creates, so the object can be found from the attempt. */
export const ATTEMPT_METADATA_KEY = 'nimbuspay_attempt_id';
export const OPERATION_METADATA_KEY = 'nimbuspay_operation';
