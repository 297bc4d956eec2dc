import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abaChecksumValid } from './aba-routing.js';

describe('abaChecksumValid', () => {
  it('accepts real routing numbers and any 9 digits whose 3-7-1 weighted sum is a multiple of 10', () => {
    assert.equal(abaChecksumValid('021000021'), true); // JPMorgan Chase, New York
    assert.equal(abaChecksumValid('110000000'), true); // the test banks' number
    assert.equal(abaChecksumValid('990000000'), true); // 27 + 63 = 90: the checksum alone says nothing about the prefix
  });

  it('refuses a wrong check digit, a wrong length and anything but ASCII digits', () => {
    for (const bad of ['021000022', '110000001', '02100002', '0210000210', '02100002a', ' 21000021', '０２１００００２１', '']) {
      assert.equal(abaChecksumValid(bad), false, JSON.stringify(bad));
    }
  });
});
