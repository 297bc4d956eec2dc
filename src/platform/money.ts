// Money is always an integer count of minor units (`bigint`) plus an ISO 4217 currency. Nothing here
// ever touches a float, so an amount read from the API is the amount stored, charged and displayed.

/**
 * Currencies NimbusPay accepts, lowercase as in Stripe's API, with their ISO 4217 minor-unit exponent.
 *
 * Deliberately left out: currencies whose ISO exponent and card-network practice disagree (ISK, UGX, TWD
 * are charged as zero-decimal by most processors but carry 2 decimals in ISO 4217), and very low-value
 * currencies (VND, IDR) for which the flat `MAX_AMOUNT_MINOR` cap would be a few thousand USD. Adding one
 * of them needs a decision on its exponent and cap, not just a line here.
 * HUF uses its ISO exponent (2); processors that settle HUF without decimals require amounts divisible by
 * 100, which is the processor adapter's concern.
 */
const CURRENCY_EXPONENTS = {
  aed: 2,
  aud: 2,
  bhd: 3,
  brl: 2,
  cad: 2,
  chf: 2,
  clp: 0,
  czk: 2,
  dkk: 2,
  eur: 2,
  gbp: 2,
  hkd: 2,
  huf: 2,
  ils: 2,
  inr: 2,
  jod: 3,
  jpy: 0,
  krw: 0,
  kwd: 3,
  mxn: 2,
  myr: 2,
  nok: 2,
  nzd: 2,
  omr: 3,
  php: 2,
  pln: 2,
  ron: 2,
  sar: 2,
  sek: 2,
  sgd: 2,
  thb: 2,
  tnd: 3,
  usd: 2,
  zar: 2,
} as const satisfies Record<string, 0 | 2 | 3>;

export type Currency = keyof typeof CURRENCY_EXPONENTS;
export type CurrencyExponent = (typeof CURRENCY_EXPONENTS)[Currency];

/** Sorted, frozen list of accepted codes: usable directly as a schema enum (`Type.Union(...)`, `enum`). */
export const SUPPORTED_CURRENCIES: readonly Currency[] = Object.freeze(
  (Object.keys(CURRENCY_EXPONENTS) as Currency[]).sort(),
);

/**
 * Upper bound for one charge, in minor units of any currency: 99,999,999 (eight digits), the same limit
 * Stripe applies. That is 999,999.99 in 2-exponent currencies, 99,999,999 JPY/KRW/CLP and 99,999.999 in
 * 3-exponent currencies. The cap exists to stop fat-finger amounts and unit mistakes (major sent as minor
 * ×100) before they reach a processor; tenants needing more are a product decision, not a config knob.
 * It also keeps every amount far inside Number.MAX_SAFE_INTEGER, so JSON clients lose no precision.
 */
export const MAX_AMOUNT_MINOR = 99_999_999n;

/** Smallest chargeable amount: one minor unit. Processors' per-currency minimums are their own concern. */
export const MIN_AMOUNT_MINOR = 1n;

export function isSupportedCurrency(code: unknown): code is Currency {
  return typeof code === 'string' && Object.hasOwn(CURRENCY_EXPONENTS, code);
}

/** Throws RangeError for an unsupported code: callers must validate input with `isSupportedCurrency` first. */
export function currencyExponent(code: Currency): CurrencyExponent;
export function currencyExponent(code: string): CurrencyExponent;
export function currencyExponent(code: string): CurrencyExponent {
  if (!isSupportedCurrency(code)) {
    throw new RangeError(`unsupported currency: ${JSON.stringify(code)}`);
  }
  return CURRENCY_EXPONENTS[code];
}

export type AmountValidation =
  | { ok: true; amountMinor: bigint; currency: Currency }
  | {
      ok: false;
      param: 'amount' | 'currency';
      code: 'invalid_currency' | 'amount_not_integer' | 'amount_too_small' | 'amount_too_large';
      message: string;
    };

/**
 * Validates a charge (or capture/refund) amount. Accepts `number` because JSON bodies arrive as numbers;
 * a non-safe-integer number is refused rather than rounded, since 1e21 or 12.5 is a client bug, not money.
 */
export function validateAmountMinor(amount: bigint | number, currency: string): AmountValidation {
  if (!isSupportedCurrency(currency)) {
    return {
      ok: false,
      param: 'currency',
      code: 'invalid_currency',
      message: `Unsupported currency ${JSON.stringify(currency)}; supported: ${SUPPORTED_CURRENCIES.join(', ')}.`,
    };
  }
  let amountMinor: bigint;
  if (typeof amount === 'bigint') {
    amountMinor = amount;
  } else if (typeof amount === 'number' && Number.isSafeInteger(amount)) {
    amountMinor = BigInt(amount);
  } else {
    return {
      ok: false,
      param: 'amount',
      code: 'amount_not_integer',
      message: 'Amount must be an integer number of minor units (e.g. 1234 for 12.34 USD).',
    };
  }
  if (amountMinor < MIN_AMOUNT_MINOR) {
    return {
      ok: false,
      param: 'amount',
      code: 'amount_too_small',
      message: 'Amount must be at least 1 minor unit.',
    };
  }
  if (amountMinor > MAX_AMOUNT_MINOR) {
    return {
      ok: false,
      param: 'amount',
      code: 'amount_too_large',
      message: `Amount must be at most ${MAX_AMOUNT_MINOR} minor units (${formatMinor(MAX_AMOUNT_MINOR, currency)} ${currency.toUpperCase()}).`,
    };
  }
  return { ok: true, amountMinor, currency };
}

/**
 * Exact decimal rendering for display and reports: 1234n usd → "12.34", 1234n jpy → "1234",
 * 1234n bhd → "1.234", -5n usd → "-0.05". No grouping separators or symbols: that is the UI's locale job.
 */
export function formatMinor(amountMinor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString();
  if (exponent === 0) {
    return (negative ? '-' : '') + digits;
  }
  const padded = digits.padStart(exponent + 1, '0');
  const major = padded.slice(0, padded.length - exponent);
  const minor = padded.slice(padded.length - exponent);
  return `${negative ? '-' : ''}${major}.${minor}`;
}
