import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveCardScenario } from './sandbox-cards.js';

const NOW = Date.UTC(2025, 5, 15);
const outcome = (number: string): string => {
  const scenario = resolveCardScenario({ number, expMonth: 12, expYear: 2030 }, NOW);
  return scenario.kind === 'decline' ? scenario.code : scenario.kind;
};

// The sandbox's length rule is its own (12 to 19 digits, any brand), looser than the API's per-brand lengths.
describe('sandbox card numbers', () => {
  it('approves a Luhn-valid number of 12 to 19 digits, whatever its brand length', () => {
    assert.equal(outcome('424242424242'), 'approve'); // 12 digits: no Visa has that length
    assert.equal(outcome('4242424242424242428'), 'approve'); // 19 digits
    assert.equal(outcome('4242424242424242'), 'approve');
  });

  it('declines as invalid_number a Luhn-valid number outside 12 to 19 digits, and a Luhn-invalid one', () => {
    assert.equal(outcome('79927398713'), 'invalid_number'); // 11 digits, Luhn-valid
    assert.equal(outcome('42424242424242424242'), 'invalid_number'); // 20 digits, Luhn-valid
    assert.equal(outcome('4242424242424241'), 'invalid_number');
  });
});
