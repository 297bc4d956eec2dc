import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRawCard } from './test-instruments.js';

const NOW = Date.UTC(2025, 5, 15);
const failure = (number: string): string => checkRawCard({ number, exp_month: 12, exp_year: 2030, cvc: '123' }, NOW)?.code ?? 'ok';

// Stripe's length rule for raw numbers (12 to 19 digits, spaces and dashes removed), not the brand's lengths.
describe('checkRawCard: the number', () => {
  it('accepts a Luhn-valid number of 12 to 19 digits, with spaces or dashes', () => {
    assert.equal(failure('424242424242'), 'ok');
    assert.equal(failure('4242424242424242428'), 'ok');
    assert.equal(failure('4242 4242-4242 4242'), 'ok');
  });

  it('refuses as incorrect_number a Luhn-valid number outside 12 to 19 digits, and a Luhn-invalid one', () => {
    assert.equal(failure('79927398713'), 'incorrect_number');
    assert.equal(failure('42424242424242424242'), 'incorrect_number');
    assert.equal(failure('4242424242424241'), 'incorrect_number');
  });
});
