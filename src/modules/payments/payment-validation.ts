import { AppError, type ErrorCode } from '../../platform/errors.js';
import { validateAmountMinor, type AmountValidation } from '../../platform/money.js';
import { validateCard } from './card.js';
import { BANK_TRANSFER_CURRENCY, validateBankAccount } from './bank-account.js';
import type { CreatePaymentInput } from './payments.schema.js';

type ValidCard = Extract<ReturnType<typeof validateCard>, { ok: true }>;
type ValidBankAccount = Extract<ReturnType<typeof validateBankAccount>, { ok: true }>;

const AMOUNT_ERROR_CODES: Record<Extract<AmountValidation, { ok: false }>['code'], ErrorCode> = {
  invalid_currency: 'parameter_invalid_enum',
  amount_not_integer: 'parameter_invalid_integer',
  amount_too_small: 'amount_too_small',
  amount_too_large: 'amount_too_large',
};

/** A create-payment request that passed every check that needs no database: safe to execute. */
export type ValidatedPayment = {
  input: CreatePaymentInput;
  amountMinor: bigint;
  currency: string;
} & (
  | { method: 'card'; card: NonNullable<CreatePaymentInput['payment_method']['card']>; checked: ValidCard }
  | { method: 'bank_transfer'; account: NonNullable<CreatePaymentInput['payment_method']['bank_account']>; checked: ValidBankAccount }
);

/**
 * Every check of a create-payment request that needs no database, run BEFORE the Idempotency-Key is claimed: a
 * request refused here stores nothing, so the client may fix it and retry with the same key.
 */
export function validateCreatePayment(input: CreatePaymentInput, now: Date): ValidatedPayment {
  const currency = input.currency.toLowerCase();
  const amount = validateAmountMinor(input.amount, currency);
  if (!amount.ok) throw new AppError(AMOUNT_ERROR_CODES[amount.code], amount.message, { param: amount.param });
  const common = { input, amountMinor: amount.amountMinor, currency };
  const method = input.payment_method;
  if (method.type === 'card') {
    if (!method.card) {
      throw new AppError('parameter_missing', 'A card payment needs payment_method[card]: send the card\'s number, exp_month, exp_year and cvc.', { param: 'payment_method[card]' });
    }
    if (method.bank_account) {
      throw new AppError('parameters_exclusive', 'A card payment takes payment_method[card] only: remove payment_method[bank_account].', { param: 'payment_method[bank_account]' });
    }
    const checked = validateCard(method.card, now);
    if (!checked.ok) throw new AppError('invalid_card', checked.message, { param: checked.param });
    return { ...common, method: 'card', card: method.card, checked };
  }
  if (!method.bank_account) {
    throw new AppError('parameter_missing', 'A bank transfer needs payment_method[bank_account]: send the account_holder_name, account_number, routing_number and account_type.', { param: 'payment_method[bank_account]' });
  }
  if (method.card) {
    throw new AppError('parameters_exclusive', 'A bank transfer takes payment_method[bank_account] only: remove payment_method[card].', { param: 'payment_method[card]' });
  }
  if (currency !== BANK_TRANSFER_CURRENCY) {
    throw new AppError('parameter_invalid_enum', `Invalid currency for a bank transfer: it must be one of: ${BANK_TRANSFER_CURRENCY}.`, { param: 'currency' });
  }
  if (input.capture_method === 'manual') {
    throw new AppError('parameter_invalid_enum', 'Invalid capture_method for a bank transfer: it must be one of: automatic (bank transfers are captured automatically).', { param: 'capture_method' });
  }
  const checked = validateBankAccount(method.bank_account);
  if (!checked.ok) throw new AppError('invalid_bank_account', checked.message, { param: checked.param });
  return { ...common, method: 'bank_transfer', account: method.bank_account, checked };
}
