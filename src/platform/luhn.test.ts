import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { luhnValid } from './luhn.js';

// The check digit alone: each caller (card.ts, the sandbox processor, stripe-local) keeps its own length rule.
const TEST_CARDS = ['4242424242424242', '5555555555554444', '378282246310005', '4000000000000002', '4000000000009995'];

describe('luhnValid', () => {
  it('accepts test cards of every length and brand', () => {
    for (const number of TEST_CARDS) assert.equal(luhnValid(number), true, number);
  });

  it('rejects a single changed digit and transposition-free garbage', () => {
    assert.equal(luhnValid('4242424242424241'), false);
    assert.equal(luhnValid('5555555555554445'), false);
    assert.equal(luhnValid('378282246310006'), false);
    assert.equal(luhnValid('1234567812345678'), false);
  });

  it('accepts known-good short checks and rejects non-digits', () => {
    assert.equal(luhnValid('79927398713'), true);
    assert.equal(luhnValid('79927398710'), false);
    assert.equal(luhnValid('4242 4242 4242 4242'), false);
    assert.equal(luhnValid('4242-4242-4242-4242'), false);
    assert.equal(luhnValid(''), false);
    assert.equal(luhnValid('0'), false);
    assert.equal(luhnValid('４２４２４２４２４２４２４２４２'), false); // full-width digits are not digits here
    assert.equal(luhnValid(4242424242424242 as unknown as string), false);
  });
});
