import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  BANK_TRANSFER_CURRENCY,
  abaRoutingNumberValid,
  bankAccountFingerprint,
  validateBankAccount,
  type BankAccountInput,
} from './bank-account.js';
import { cardFingerprint } from './card.js';

const KEY = 'k'.repeat(32);

function account(overrides: Partial<BankAccountInput> = {}): BankAccountInput {
  return {
    account_holder_name: 'Jenny Rosen',
    account_number: '000123456789',
    routing_number: '110000000',
    account_type: 'checking',
    ...overrides,
  };
}

function failureOf(input: BankAccountInput): string {
  const result = validateBankAccount(input);
  return result.ok ? 'ok' : `${result.param}|${result.code}`;
}

describe('abaRoutingNumberValid', () => {
  it('accepts the sandbox routing number and real ones', () => {
    assert.equal(abaRoutingNumberValid('110000000'), true);
    assert.equal(abaRoutingNumberValid('011000015'), true); // Federal Reserve Bank of Boston
    assert.equal(abaRoutingNumberValid('021000021'), true); // JPMorgan Chase, New York
    assert.equal(abaRoutingNumberValid('322271627'), true); // Chase, California (thrift-range prefix)
  });

  it('rejects a bad checksum', () => {
    assert.equal(abaRoutingNumberValid('110000001'), false);
    assert.equal(abaRoutingNumberValid('021000022'), false);
    assert.equal(abaRoutingNumberValid('011000016'), false);
  });

  it('rejects checksum-valid numbers with an unassigned Federal Reserve prefix', () => {
    assert.equal(abaRoutingNumberValid('990000000'), false); // 27 + 63 = 90
    assert.equal(abaRoutingNumberValid('500000005'), false); // 15 + 5 = 20
  });

  it('rejects anything that is not exactly 9 ASCII digits', () => {
    for (const bad of ['11000000', '1100000000', '11000000a', '110 000 000', '110-000-000', ' 110000000', '']) {
      assert.equal(abaRoutingNumberValid(bad), false, JSON.stringify(bad));
    }
    assert.equal(abaRoutingNumberValid(110000000 as unknown as string), false);
  });
});

describe('validateBankAccount', () => {
  it('accepts a valid account and returns only masked data', () => {
    assert.deepEqual(validateBankAccount(account()), {
      ok: true,
      last4: '6789',
      routing_number: '110000000',
      account_type: 'checking',
      account_holder_name: 'Jenny Rosen',
    });
    assert.equal(failureOf(account({ account_type: 'savings' })), 'ok');
  });

  it('enforces 4 to 17 digit account numbers', () => {
    const param = 'payment_method[bank_account][account_number]|account_number_invalid';
    assert.equal(failureOf(account({ account_number: '1234' })), 'ok');
    assert.equal(failureOf(account({ account_number: '12345678901234567' })), 'ok');
    assert.equal(failureOf(account({ account_number: '123' })), param);
    assert.equal(failureOf(account({ account_number: '123456789012345678' })), param);
    assert.equal(failureOf(account({ account_number: '1234-5678' })), param);
    assert.equal(failureOf(account({ account_number: '1234 5678' })), param);
    assert.equal(failureOf(account({ account_number: '' })), param);
    assert.equal(failureOf(account({ account_number: 12345678 as unknown as string })), param);
  });

  it('checks the routing number', () => {
    const param = 'payment_method[bank_account][routing_number]|routing_number_invalid';
    assert.equal(failureOf(account({ routing_number: '110000001' })), param);
    assert.equal(failureOf(account({ routing_number: '11000000' })), param);
  });

  it('requires a 1 to 100 character, non-blank holder name', () => {
    const param = 'payment_method[bank_account][account_holder_name]|account_holder_name_invalid';
    assert.equal(failureOf(account({ account_holder_name: 'J' })), 'ok');
    assert.equal(failureOf(account({ account_holder_name: 'x'.repeat(100) })), 'ok');
    assert.equal(failureOf(account({ account_holder_name: 'é'.repeat(100) })), 'ok'); // code points, not bytes
    assert.equal(failureOf(account({ account_holder_name: 'x'.repeat(101) })), param);
    assert.equal(failureOf(account({ account_holder_name: '' })), param);
    assert.equal(failureOf(account({ account_holder_name: '   \t ' })), param);
    assert.equal(failureOf(account({ account_holder_name: 'Jenny\nRosen' })), param);
    assert.equal(failureOf(account({ account_holder_name: undefined as unknown as string })), param);
  });

  it('trims the holder name it returns', () => {
    const result = validateBankAccount(account({ account_holder_name: '  Jenny Rosen ' }));
    assert.equal(result.ok && result.account_holder_name, 'Jenny Rosen');
  });

  it('accepts only checking and savings', () => {
    const param = 'payment_method[bank_account][account_type]|account_type_invalid';
    for (const account_type of ['Checking', 'SAVINGS', 'business', '', 'toString']) {
      assert.equal(failureOf(account({ account_type })), param, account_type);
    }
  });

  it('never puts the account number into a message', () => {
    const result = validateBankAccount(account({ account_number: '987654321987654321' }));
    assert.equal(result.ok, false);
    if (!result.ok) assert.doesNotMatch(result.message, /98765/);
  });

  it('is USD only', () => {
    assert.equal(BANK_TRANSFER_CURRENCY, 'usd');
  });
});

describe('bankAccountFingerprint', () => {
  it('is stable per key, keyed, and depends on routing and account', () => {
    const a = bankAccountFingerprint('110000000', '000123456789', KEY);
    assert.equal(a, bankAccountFingerprint('110000000', '000123456789', Buffer.from(KEY)));
    assert.match(a, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, bankAccountFingerprint('110000000', '000123456789', Buffer.alloc(32, 1)));
    assert.notEqual(a, bankAccountFingerprint('021000021', '000123456789', KEY));
    assert.notEqual(a, bankAccountFingerprint('110000000', '000123456780', KEY));
  });

  it('matches an independent HMAC-SHA256 computation', () => {
    const expected = createHmac('sha256', KEY)
      .update('nimbuspay:bank_account:v1\u0000110000000\u0000000123456789')
      .digest('base64url')
      .slice(0, 22);
    assert.equal(bankAccountFingerprint('110000000', '000123456789', KEY), expected);
  });

  it('does not collide with a card fingerprint of the same digits', () => {
    assert.notEqual(
      bankAccountFingerprint('110000000', '4242424242424242', KEY),
      cardFingerprint('1100000004242424242424242', KEY),
    );
  });

  it('refuses short keys and malformed input', () => {
    assert.throws(() => bankAccountFingerprint('110000000', '000123456789', 'short'), RangeError);
    assert.throws(() => bankAccountFingerprint('11000000', '000123456789', KEY), TypeError);
    assert.throws(() => bankAccountFingerprint('110000000', '0001-2345', KEY), TypeError);
  });
});
