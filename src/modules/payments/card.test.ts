import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CARD_BRANDS,
  FINGERPRINT_LENGTH,
  cardFingerprint,
  detectCardBrand,
  expectedCardLengths,
  maskCard,
  validateCard,
  type CardInput,
} from './card.js';

const NOW = new Date('2025-06-15T12:00:00Z');
const KEY = 'k'.repeat(32);
const OTHER_KEY = Buffer.alloc(32, 7);

function card(overrides: Partial<CardInput> = {}): CardInput {
  return { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123', ...overrides };
}

function failureOf(input: CardInput, now = NOW): string {
  const result = validateCard(input, now);
  return result.ok ? 'ok' : `${result.param}|${result.code}`;
}

const SANDBOX_CARDS = [
  '4242424242424242',
  '5555555555554444',
  '378282246310005',
  '4000000000000002',
  '4000000000009995',
  '4000000000000069',
  '4000000000000127',
  '4000000000000119',
  '4000000000000408',
  '4000000000000416',
  '4000000000000424',
];

describe('detectCardBrand', () => {
  const cases: Array<[string, string]> = [
    ['4242424242424242', 'visa'],
    ['4000056655665556', 'visa'],
    ['4222222222222', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['5105105105105100', 'mastercard'],
    ['5200828282828210', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['2221000000000009', 'mastercard'],
    ['2720990000000007', 'mastercard'],
    ['2220990000000000', 'unknown'],
    ['2721000000000000', 'unknown'],
    ['5000000000000000', 'unknown'],
    ['5600000000000000', 'unknown'],
    ['378282246310005', 'amex'],
    ['371449635398431', 'amex'],
    ['6011111111111117', 'discover'],
    ['6011000990139424', 'discover'],
    ['6445644564456445', 'discover'],
    ['6500000000000002', 'discover'],
    ['6430000000000000', 'unknown'],
    ['3056930009020004', 'diners'],
    ['36227206271667', 'diners'],
    ['38520000023237', 'diners'],
    ['30950000000000', 'diners'],
    ['3060000000000000', 'unknown'],
    ['3566002020360505', 'jcb'],
    ['3528000000000007', 'jcb'],
    ['3589000000000000', 'jcb'],
    ['3527000000000000', 'unknown'],
    ['6200000000000005', 'unionpay'],
    ['6205500000000000004', 'unionpay'],
    ['6221260000000000', 'unionpay'],
    ['8100000000000000', 'unionpay'],
    ['8172000000000000', 'unknown'],
    ['1234567890123456', 'unknown'],
    ['', 'unknown'],
    ['4242 4242 4242 4242', 'unknown'],
  ];
  for (const [number, brand] of cases) {
    it(`${number || '(empty)'} → ${brand}`, () => assert.equal(detectCardBrand(number), brand));
  }
});

describe('expectedCardLengths', () => {
  it('has a length rule per brand', () => {
    assert.deepEqual(expectedCardLengths('amex'), [15]);
    assert.deepEqual(expectedCardLengths('mastercard'), [16]);
    assert.deepEqual(expectedCardLengths('visa'), [13, 16, 19]);
    assert.deepEqual(expectedCardLengths('unknown'), []);
    for (const brand of CARD_BRANDS) {
      for (const length of expectedCardLengths(brand)) assert.ok(length >= 13 && length <= 19);
    }
  });
});

describe('validateCard', () => {
  it('accepts every sandbox test card (declines happen at the processor, not here)', () => {
    for (const number of SANDBOX_CARDS) {
      const cvc = number.startsWith('37') ? '1234' : '123';
      const result = validateCard(card({ number, cvc }), NOW);
      assert.equal(result.ok, true, number);
    }
  });

  it('returns brand and last4 only', () => {
    assert.deepEqual(validateCard(card(), NOW), { ok: true, brand: 'visa', last4: '4242' });
    assert.deepEqual(validateCard(card({ number: '378282246310005', cvc: '1234' }), NOW), {
      ok: true,
      brand: 'amex',
      last4: '0005',
    });
    assert.deepEqual(validateCard(card({ number: '5555555555554444' }), NOW), {
      ok: true,
      brand: 'mastercard',
      last4: '4444',
    });
  });

  it('accepts other brands at their lengths', () => {
    for (const number of [
      '6011111111111117',
      '3056930009020004',
      '36227206271667',
      '3566002020360505',
      '6200000000000005',
      '6205500000000000004',
      '2223003122003222',
    ]) {
      assert.equal(failureOf(card({ number })), 'ok', number);
    }
  });

  it('rejects bad numbers as invalid_number', () => {
    const param = 'payment_method[card][number]|invalid_number';
    assert.equal(failureOf(card({ number: '4242424242424241' })), param); // Luhn
    assert.equal(failureOf(card({ number: '4242 4242 4242 4242' })), param); // spaces rejected, not normalized
    assert.equal(failureOf(card({ number: '4242-4242-4242-4242' })), param);
    assert.equal(failureOf(card({ number: ' 4242424242424242' })), param);
    assert.equal(failureOf(card({ number: '' })), param);
    assert.equal(failureOf(card({ number: '1234567812345670' })), param); // Luhn-valid, unknown brand
    assert.equal(failureOf(card({ number: '42424242424242' })), param); // Luhn-valid visa with 14 digits
    assert.equal(failureOf(card({ number: '37828224631003' })), param); // Luhn-valid amex with 14 digits
    assert.equal(failureOf(card({ number: '55555555555544440' })), param); // Luhn-valid mastercard, 17 digits
    assert.equal(failureOf(card({ number: 4242424242424242 as unknown as string })), param);
  });

  it('explains the digits-only rule without echoing the number', () => {
    const result = validateCard(card({ number: '4242 4242 4242 4242' }), NOW);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.match(result.message, /digits only/);
      assert.doesNotMatch(result.message, /4242/);
    }
  });

  it('rejects bad expiry months', () => {
    for (const exp_month of [0, 13, -1, 1.5, Number.NaN, '12' as unknown as number]) {
      assert.equal(
        failureOf(card({ exp_month })),
        'payment_method[card][exp_month]|invalid_expiry_month',
        String(exp_month),
      );
    }
  });

  it('rejects implausible expiry years', () => {
    for (const exp_year of [30, 99, 2025.5, 2076, 9999, Number.NaN, '2030' as unknown as number]) {
      assert.equal(
        failureOf(card({ exp_year })),
        'payment_method[card][exp_year]|invalid_expiry_year',
        String(exp_year),
      );
    }
    assert.equal(failureOf(card({ exp_year: 2075 })), 'ok');
  });

  it('treats the current month as valid and earlier months as expired', () => {
    assert.equal(failureOf(card({ exp_month: 6, exp_year: 2025 })), 'ok');
    assert.equal(failureOf(card({ exp_month: 7, exp_year: 2025 })), 'ok');
    assert.equal(failureOf(card({ exp_month: 5, exp_year: 2025 })), 'payment_method[card][exp_month]|expired_card');
    assert.equal(failureOf(card({ exp_month: 12, exp_year: 2024 })), 'payment_method[card][exp_year]|expired_card');
    assert.equal(failureOf(card({ exp_month: 1, exp_year: 2026 })), 'ok');
  });

  it('evaluates expiry at the UTC month boundary', () => {
    const june = card({ exp_month: 6, exp_year: 2025 });
    assert.equal(failureOf(june, new Date('2025-06-30T23:59:59.999Z')), 'ok');
    assert.equal(failureOf(june, new Date('2025-07-01T00:00:00.000Z')), 'payment_method[card][exp_month]|expired_card');
    const december = card({ exp_month: 12, exp_year: 2025 });
    assert.equal(failureOf(december, new Date('2025-12-31T23:59:59Z')), 'ok');
    assert.equal(failureOf(december, new Date('2026-01-01T00:00:00Z')), 'payment_method[card][exp_year]|expired_card');
  });

  it('requires 3 digit CVC, 4 for amex', () => {
    const param = 'payment_method[card][cvc]|invalid_cvc';
    assert.equal(failureOf(card({ cvc: '012' })), 'ok');
    assert.equal(failureOf(card({ cvc: '12' })), param);
    assert.equal(failureOf(card({ cvc: '1234' })), param);
    assert.equal(failureOf(card({ cvc: '12a' })), param);
    assert.equal(failureOf(card({ cvc: '' })), param);
    assert.equal(failureOf(card({ cvc: 123 as unknown as string })), param);
    const amex = { number: '378282246310005' };
    assert.equal(failureOf(card({ ...amex, cvc: '1234' })), 'ok');
    assert.equal(failureOf(card({ ...amex, cvc: '123' })), param);
    assert.equal(failureOf(card({ ...amex, cvc: '12345' })), param);
  });

  it('reports the first failure in field order', () => {
    const everythingWrong = { number: '1', exp_month: 0, exp_year: 1, cvc: '' };
    assert.equal(failureOf(everythingWrong), 'payment_method[card][number]|invalid_number');
    assert.equal(
      failureOf(card({ exp_month: 0, exp_year: 1, cvc: '' })),
      'payment_method[card][exp_month]|invalid_expiry_month',
    );
    assert.equal(failureOf(card({ exp_year: 2020, cvc: '' })), 'payment_method[card][exp_year]|expired_card');
  });

  it('never puts the number or CVC into a message', () => {
    const inputs: CardInput[] = [
      card({ number: '4242424242424241' }),
      card({ exp_month: 13 }),
      card({ exp_year: 3000 }),
      card({ exp_year: 2020 }),
      card({ cvc: '98' }),
    ];
    for (const input of inputs) {
      const result = validateCard(input, NOW);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.doesNotMatch(result.message, /424242/);
        assert.doesNotMatch(result.message, /98/);
      }
    }
  });
});

describe('maskCard', () => {
  it('returns only last4', () => {
    assert.deepEqual(maskCard('4242424242424242'), { last4: '4242' });
    assert.deepEqual(maskCard('378282246310005'), { last4: '0005' });
  });

  it('throws without echoing malformed input', () => {
    assert.throws(() => maskCard('4242 4242 4242 4242'), (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.doesNotMatch(error.message, /4242/);
      return true;
    });
    assert.throws(() => maskCard('123'), TypeError);
  });
});

describe('cardFingerprint', () => {
  it('is stable per key and has the documented length and alphabet', () => {
    const a = cardFingerprint('4242424242424242', KEY);
    assert.equal(a, cardFingerprint('4242424242424242', KEY));
    assert.equal(a, cardFingerprint('4242424242424242', Buffer.from(KEY)));
    assert.equal(a.length, FINGERPRINT_LENGTH);
    assert.equal(FINGERPRINT_LENGTH, 22);
    assert.match(a, /^[A-Za-z0-9_-]{22}$/);
  });

  it('depends on the key and on the number', () => {
    const a = cardFingerprint('4242424242424242', KEY);
    assert.notEqual(a, cardFingerprint('4242424242424242', OTHER_KEY));
    assert.notEqual(a, cardFingerprint('4000000000000002', KEY));
  });

  it('matches an independent HMAC-SHA256 computation and reveals no digits', async () => {
    const { createHmac } = await import('node:crypto');
    const expected = createHmac('sha256', KEY)
      .update('nimbuspay:card:v1\u00004242424242424242')
      .digest('base64url')
      .slice(0, 22);
    const actual = cardFingerprint('4242424242424242', KEY);
    assert.equal(actual, expected);
    assert.doesNotMatch(actual, /4242/);
  });

  it('refuses short keys and non-digit numbers', () => {
    assert.throws(() => cardFingerprint('4242424242424242', ''), RangeError);
    assert.throws(() => cardFingerprint('4242424242424242', 'short-dev-key'), RangeError);
    assert.throws(() => cardFingerprint('4242424242424242', Buffer.alloc(31)), RangeError);
    assert.throws(() => cardFingerprint('4242 4242 4242 4242', KEY), TypeError);
  });
});
