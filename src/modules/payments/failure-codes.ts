import { DECLINE_CODES } from '../processors/index.js';

/**
 * NACHA return codes → the payment's `failure_code` (the raw code stays in `bank_transfer.return_code`). Codes
 * not listed become `bank_account_unusable`, which is honest for the rest of the R0x/R1x family.
 */
export const RETURN_FAILURE_CODES: Readonly<Record<string, string>> = {
  R01: 'insufficient_funds',
  R02: 'account_closed',
  R03: 'no_account',
  R04: 'invalid_account_number',
  R05: 'debit_not_authorized',
  R07: 'debit_not_authorized',
  R08: 'payment_stopped',
  R09: 'insufficient_funds',
  R10: 'debit_not_authorized',
  R16: 'account_frozen',
  R20: 'bank_account_restricted',
  R29: 'debit_not_authorized',
};
export const UNLISTED_RETURN_FAILURE_CODE = 'bank_account_unusable';

/** When the processor answered but could not process the request (it did nothing). */
export const PROCESSING_ERROR = 'processing_error';

/** Every `failure_code` a payment can carry: processor declines, processing errors, bank returns. */
export const PAYMENT_FAILURE_CODES = [
  ...new Set([...DECLINE_CODES, PROCESSING_ERROR, ...Object.values(RETURN_FAILURE_CODES), UNLISTED_RETURN_FAILURE_CODE]),
];
/** Every `failure_code` a refund can carry. */
export const REFUND_FAILURE_CODES = [...DECLINE_CODES, PROCESSING_ERROR];
