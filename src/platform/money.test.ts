import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_AMOUNT_MINOR,
  SUPPORTED_CURRENCIES,
  currencyExponent,
  formatMinor,
  isSupportedCurrency,
  validateAmountMinor,
} from './money.js';

describe('currencies', () => {
  it('accepts at least the currencies the product promised, all lowercase', () => {
    const required = [
      'usd', 'eur', 'gbp', 'jpy', 'chf', 'cad', 'aud', 'sek', 'nok', 'dkk', 'pln', 'czk', 'huf', 'krw',
      'inr', 'brl', 'mxn', 'sgd', 'hkd', 'nzd', 'zar', 'bhd', 'kwd', 'jod', 'omr', 'tnd',
    ];
    for (const code of required) assert.ok(isSupportedCurrency(code), code);
    assert.ok(SUPPORTED_CURRENCIES.length >= 25);
    for (const code of SUPPORTED_CURRENCIES) assert.match(code, /^[a-z]{3}$/);
    assert.deepEqual([...SUPPORTED_CURRENCIES], [...SUPPORTED_CURRENCIES].sort());
    assert.equal(new Set(SUPPORTED_CURRENCIES).size, SUPPORTED_CURRENCIES.length);
    assert.ok(Object.isFrozen(SUPPORTED_CURRENCIES));
  });

  it('rejects unknown, uppercase and prototype-chain codes', () => {
    for (const code of ['USD', 'Usd', 'xxx', '', 'us', 'usdd', 'toString', '__proto__', 'constructor']) {
      assert.equal(isSupportedCurrency(code), false, code);
    }
    assert.equal(isSupportedCurrency(undefined), false);
    assert.equal(isSupportedCurrency(840), false);
  });

  it('knows the ISO 4217 exponents', () => {
    for (const code of ['jpy', 'krw', 'clp']) assert.equal(currencyExponent(code), 0, code);
    for (const code of ['bhd', 'kwd', 'jod', 'omr', 'tnd']) assert.equal(currencyExponent(code), 3, code);
    for (const code of ['usd', 'eur', 'gbp', 'chf', 'huf', 'inr', 'zar']) {
      assert.equal(currencyExponent(code), 2, code);
    }
    for (const code of SUPPORTED_CURRENCIES) assert.ok([0, 2, 3].includes(currencyExponent(code)));
  });

  it('throws on an unsupported currency exponent lookup', () => {
    assert.throws(() => currencyExponent('xyz'), RangeError);
    assert.throws(() => currencyExponent('USD'), RangeError);
  });
});

describe('formatMinor', () => {
  const cases: Array<[bigint, string, string]> = [
    [1234n, 'usd', '12.34'],
    [1n, 'usd', '0.01'],
    [10n, 'eur', '0.10'],
    [100n, 'gbp', '1.00'],
    [0n, 'usd', '0.00'],
    [-5n, 'usd', '-0.05'],
    [-12345n, 'usd', '-123.45'],
    [1234n, 'jpy', '1234'],
    [0n, 'krw', '0'],
    [-7n, 'jpy', '-7'],
    [1234n, 'bhd', '1.234'],
    [1n, 'kwd', '0.001'],
    [1000n, 'tnd', '1.000'],
    [99_999_999n, 'usd', '999999.99'],
    [99_999_999n, 'bhd', '99999.999'],
    // Far beyond Number.MAX_SAFE_INTEGER: exactness must not depend on float range.
    [123456789012345678901234567890n, 'usd', '1234567890123456789012345678.90'],
  ];
  for (const [amount, currency, expected] of cases) {
    it(`${amount} ${currency} → ${expected}`, () => {
      assert.equal(formatMinor(amount, currency), expected);
    });
  }

  it('throws for an unsupported currency', () => {
    assert.throws(() => formatMinor(1n, 'xyz'), RangeError);
  });
});

describe('validateAmountMinor', () => {
  it('accepts the bounds as bigint and number, returning a bigint', () => {
    assert.deepEqual(validateAmountMinor(1n, 'usd'), { ok: true, amountMinor: 1n, currency: 'usd' });
    assert.deepEqual(validateAmountMinor(1, 'jpy'), { ok: true, amountMinor: 1n, currency: 'jpy' });
    assert.deepEqual(validateAmountMinor(MAX_AMOUNT_MINOR, 'usd'), {
      ok: true,
      amountMinor: 99_999_999n,
      currency: 'usd',
    });
    assert.deepEqual(validateAmountMinor(99_999_999, 'bhd'), {
      ok: true,
      amountMinor: 99_999_999n,
      currency: 'bhd',
    });
  });

  it('documents the cap as 99,999,999 minor units', () => {
    assert.equal(MAX_AMOUNT_MINOR, 99_999_999n);
  });

  function codeOf(amount: bigint | number, currency = 'usd'): string {
    const result = validateAmountMinor(amount, currency);
    return result.ok ? 'ok' : `${result.param}:${result.code}`;
  }

  it('rejects zero and negatives', () => {
    assert.equal(codeOf(0n), 'amount:amount_too_small');
    assert.equal(codeOf(0), 'amount:amount_too_small');
    assert.equal(codeOf(-0), 'amount:amount_too_small');
    assert.equal(codeOf(-1n), 'amount:amount_too_small');
    assert.equal(codeOf(-100), 'amount:amount_too_small');
  });

  it('rejects amounts above the cap', () => {
    assert.equal(codeOf(MAX_AMOUNT_MINOR + 1n), 'amount:amount_too_large');
    assert.equal(codeOf(100_000_000), 'amount:amount_too_large');
    assert.equal(codeOf(2n ** 64n), 'amount:amount_too_large');
  });

  it('rejects non-integers and unsafe numbers instead of rounding', () => {
    for (const bad of [12.5, 0.1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 1e21]) {
      assert.equal(codeOf(bad), 'amount:amount_not_integer', String(bad));
    }
    // A string smuggled past the type system is not an amount either.
    assert.equal(codeOf('100' as unknown as number), 'amount:amount_not_integer');
  });

  it('rejects an unsupported currency before looking at the amount', () => {
    assert.equal(codeOf(100n, 'xyz'), 'currency:invalid_currency');
    assert.equal(codeOf(100n, 'USD'), 'currency:invalid_currency');
    assert.equal(codeOf(-1n, 'xyz'), 'currency:invalid_currency');
  });

  it('gives a message naming the cap in major units', () => {
    const result = validateAmountMinor(100_000_000n, 'usd');
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.message, /999999\.99 USD/);
  });
});
