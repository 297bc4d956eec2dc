import { abaChecksumValid } from '../../platform/aba-routing.js';
import { keyedFingerprint } from './card.js';

// US ACH only. The account number is as sensitive as a PAN for us: only last4, the routing number
// (public: it identifies the bank) and the keyed fingerprint may be stored, returned or logged.

/** Bank transfers move USD over ACH; the service must refuse any other currency for method bank_transfer. */
export const BANK_TRANSFER_CURRENCY = 'usd';

export const BANK_ACCOUNT_TYPES = Object.freeze(['checking', 'savings'] as const);
export type BankAccountType = (typeof BANK_ACCOUNT_TYPES)[number];

export const BANK_ACCOUNT_PARAMS = Object.freeze({
  account_holder_name: 'payment_method[bank_account][account_holder_name]',
  account_number: 'payment_method[bank_account][account_number]',
  routing_number: 'payment_method[bank_account][routing_number]',
  account_type: 'payment_method[bank_account][account_type]',
} as const);

export type BankAccountParam = (typeof BANK_ACCOUNT_PARAMS)[keyof typeof BANK_ACCOUNT_PARAMS];
export type BankAccountErrorCode =
  | 'account_holder_name_invalid'
  | 'account_number_invalid'
  | 'routing_number_invalid'
  | 'account_type_invalid';

export interface BankAccountInput {
  account_holder_name: string;
  account_number: string;
  routing_number: string;
  account_type: string;
}

export type BankAccountValidation =
  | { ok: true; last4: string; routing_number: string; account_type: BankAccountType; account_holder_name: string }
  | { ok: false; param: BankAccountParam; code: BankAccountErrorCode; message: string };

export const ACCOUNT_HOLDER_NAME_MAX_LENGTH = 100;

/**
 * ABA routing transit number: 9 digits with a valid check digit, whose first two digits are a Federal Reserve
 * prefix (00–12 banks, 21–32 thrifts, 61–72 electronic, 80 traveler's checks). The prefix check catches typos the
 * checksum misses; the sandbox number 110000000 passes both.
 */
export function abaRoutingNumberValid(routing: string): boolean {
  if (!abaChecksumValid(routing)) return false;
  const prefix = Number(routing.slice(0, 2));
  return (prefix >= 0 && prefix <= 12) || (prefix >= 21 && prefix <= 32) || (prefix >= 61 && prefix <= 72) || prefix === 80;
}

// Control characters would corrupt the fixed-width NACHA file the rail builds from the name.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Local checks before submitting to the rail; whether the account exists is only learnt from a return.
 * Like card numbers, account and routing numbers must be digits only (no spaces or dashes). The holder
 * name is trimmed; its length is counted in code points so accented names are not penalised.
 * Checks run in field order name → account number → routing number → type; the first failure wins.
 */
export function validateBankAccount(account: BankAccountInput): BankAccountValidation {
  const name = typeof account.account_holder_name === 'string' ? account.account_holder_name.trim() : '';
  const nameLength = [...name].length;
  if (nameLength < 1 || nameLength > ACCOUNT_HOLDER_NAME_MAX_LENGTH || CONTROL_CHARS.test(name)) {
    return {
      ok: false,
      param: BANK_ACCOUNT_PARAMS.account_holder_name,
      code: 'account_holder_name_invalid',
      message: `The account holder name must be 1 to ${ACCOUNT_HOLDER_NAME_MAX_LENGTH} characters, not blank, without control characters.`,
    };
  }

  const accountNumber = account.account_number;
  if (typeof accountNumber !== 'string' || !/^[0-9]{4,17}$/.test(accountNumber)) {
    return {
      ok: false,
      param: BANK_ACCOUNT_PARAMS.account_number,
      code: 'account_number_invalid',
      message: 'The bank account number must be 4 to 17 digits.',
    };
  }

  if (!abaRoutingNumberValid(account.routing_number)) {
    return {
      ok: false,
      param: BANK_ACCOUNT_PARAMS.routing_number,
      code: 'routing_number_invalid',
      message: 'The routing number is not a valid 9-digit ABA routing number.',
    };
  }

  const accountType = account.account_type;
  if (!(BANK_ACCOUNT_TYPES as readonly string[]).includes(accountType)) {
    return {
      ok: false,
      param: BANK_ACCOUNT_PARAMS.account_type,
      code: 'account_type_invalid',
      message: `The account type must be one of: ${BANK_ACCOUNT_TYPES.join(', ')}.`,
    };
  }

  return {
    ok: true,
    last4: accountNumber.slice(-4),
    routing_number: account.routing_number,
    account_type: accountType as BankAccountType,
    account_holder_name: name,
  };
}

/**
 * Same scheme as `cardFingerprint` (HMAC-SHA256, base64url, 22 chars) under its own domain label.
 * The routing number is part of the identity: the same account number at two banks is two accounts.
 */
export function bankAccountFingerprint(routing: string, account: string, key: Buffer | string): string {
  if (typeof routing !== 'string' || !/^[0-9]{9}$/.test(routing)) {
    throw new TypeError('bankAccountFingerprint expects a 9-digit routing number');
  }
  if (typeof account !== 'string' || !/^[0-9]+$/.test(account)) {
    throw new TypeError('bankAccountFingerprint expects a digits-only account number');
  }
  return keyedFingerprint('nimbuspay:bank_account:v1', [routing, account], key);
}
