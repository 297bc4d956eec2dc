import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signProcessorNotification, verifyProcessorNotification } from './notification-signature.js';

const secret = 'psk_test_secret';
const body = '{"id":"ntf_1","type":"bank_debit.settled","created":1700000000,"data":{"debit_id":"bd_1"}}';
const now = 1_700_000_000;

describe('processor notification signature', () => {
  it('signs t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
    assert.equal(signProcessorNotification(secret, body, now), `t=${now},v1=${expected}`);
  });

  it('accepts its own signature, for string and byte bodies', () => {
    const header = signProcessorNotification(secret, body, now);
    assert.deepEqual(verifyProcessorNotification({ secret, rawBody: body, header, nowSec: now + 10 }), {
      ok: true,
      timestampSec: now,
    });
    const bytes = Buffer.from(body);
    assert.equal(verifyProcessorNotification({ secret, rawBody: bytes, header, nowSec: now }).ok, true);
  });

  it('rejects a tampered body, a wrong secret and a tampered timestamp', () => {
    const header = signProcessorNotification(secret, body, now);
    const tampered = body.replace('settled', 'returned');
    assert.deepEqual(verifyProcessorNotification({ secret, rawBody: tampered, header, nowSec: now }), {
      ok: false,
      reason: 'signature_mismatch',
    });
    assert.equal(verifyProcessorNotification({ secret: 'other', rawBody: body, header, nowSec: now }).ok, false);
    const shifted = header.replace(`t=${now}`, `t=${now + 1}`);
    assert.deepEqual(verifyProcessorNotification({ secret, rawBody: body, header: shifted, nowSec: now }), {
      ok: false,
      reason: 'signature_mismatch',
    });
  });

  it('refuses timestamps outside the tolerance, even with a valid signature', () => {
    const old = signProcessorNotification(secret, body, now - 301);
    assert.deepEqual(verifyProcessorNotification({ secret, rawBody: body, header: old, nowSec: now }), {
      ok: false,
      reason: 'timestamp_out_of_tolerance',
    });
    const future = signProcessorNotification(secret, body, now + 301);
    assert.equal(verifyProcessorNotification({ secret, rawBody: body, header: future, nowSec: now }).ok, false);
    assert.equal(
      verifyProcessorNotification({ secret, rawBody: body, header: old, nowSec: now, toleranceSec: 600 }).ok,
      true,
    );
  });

  it('accepts any matching v1 among several (secret rotation)', () => {
    const good = signProcessorNotification(secret, body, now).split(',v1=')[1];
    const header = `t=${now},v1=${'0'.repeat(64)},v1=${good}`;
    assert.equal(verifyProcessorNotification({ secret, rawBody: body, header, nowSec: now }).ok, true);
  });

  it('rejects missing and malformed headers', () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'missing_header'],
      ['', 'missing_header'],
      ['garbage', 'malformed_header'],
      [`t=${now}`, 'malformed_header'],
      [`v1=${'a'.repeat(64)}`, 'malformed_header'],
      [`t=abc,v1=${'a'.repeat(64)}`, 'malformed_header'],
      [`t=${now},v1=zz`, 'malformed_header'],
      [`t=${now},t=${now},v1=${'a'.repeat(64)}`, 'malformed_header'],
    ];
    for (const [header, reason] of cases) {
      assert.deepEqual(verifyProcessorNotification({ secret, rawBody: body, header, nowSec: now }), { ok: false, reason });
    }
  });
});
