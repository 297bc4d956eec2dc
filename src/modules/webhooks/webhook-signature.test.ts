import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  buildWebhookHeaders,
  decodeWebhookSecret,
  generateWebhookSecret,
  signWebhookPayload,
  WEBHOOK_USER_AGENT,
} from './webhook-signature.js';

const nowSec = (): number => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ type: 'payment.succeeded', data: { id: 'pay_123', amount_minor: '1999' } });

function verifies(secret: string, headers: Record<string, string>, payload: string): boolean {
  try {
    new Webhook(secret).verify(payload, headers);
    return true;
  } catch {
    return false;
  }
}

describe('generateWebhookSecret', () => {
  it('returns whsec_ + base64 of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(decodeWebhookSecret(secret).length, 32);
    assert.notEqual(generateWebhookSecret(), secret);
  });
});

describe('signWebhookPayload', () => {
  it('matches the Standard Webhooks reference test vector', () => {
    const signature = signWebhookPayload({
      msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestampSec: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    });
    assert.equal(signature, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('produces what the official standardwebhooks library produces', () => {
    const secret = generateWebhookSecret();
    const timestampSec = nowSec();
    const ours = signWebhookPayload({ msgId: 'evt_1', timestampSec, body, secrets: [secret] });
    assert.equal(ours, new Webhook(secret).sign('evt_1', new Date(timestampSec * 1000), body));
  });

  it('emits one space-separated v1 signature per secret, in order', () => {
    const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
    const input = { msgId: 'evt_2', timestampSec: nowSec(), body };
    const both = signWebhookPayload({ ...input, secrets: [a, b] });
    assert.equal(both, `${signWebhookPayload({ ...input, secrets: [a] })} ${signWebhookPayload({ ...input, secrets: [b] })}`);
  });

  it('rejects bad input without echoing the secret', () => {
    const input = { msgId: 'evt_3', timestampSec: nowSec(), body };
    assert.throws(() => signWebhookPayload({ ...input, secrets: [] }), /at least one/);
    assert.throws(() => signWebhookPayload({ ...input, secrets: ['sk_live_notawebhooksecret'] }), (err: Error) => {
      assert.match(err.message, /whsec_/);
      assert.doesNotMatch(err.message, /notawebhooksecret/);
      return true;
    });
    assert.throws(() => signWebhookPayload({ ...input, secrets: ['whsec_!!!notbase64'] }), /base64/);
    assert.throws(() => signWebhookPayload({ ...input, secrets: ['whsec_c2hvcnQ='] }), /24-64 bytes/);
    assert.throws(() => signWebhookPayload({ ...input, msgId: 'evt 3', secrets: [generateWebhookSecret()] }), /msgId/);
    assert.throws(() => signWebhookPayload({ ...input, msgId: '', secrets: [generateWebhookSecret()] }), /msgId/);
    assert.throws(() => signWebhookPayload({ ...input, timestampSec: 1.5, secrets: [generateWebhookSecret()] }), /timestampSec/);
    assert.throws(() => signWebhookPayload({ ...input, timestampSec: -1, secrets: [generateWebhookSecret()] }), /timestampSec/);
  });
});

describe('buildWebhookHeaders verified by the official standardwebhooks package', () => {
  it('sets the Standard Webhooks headers, content type and user agent', () => {
    const secret = generateWebhookSecret();
    const timestampSec = nowSec();
    const headers = buildWebhookHeaders({ msgId: 'evt_4', timestampSec, body, secrets: [secret] });
    assert.deepEqual(Object.keys(headers).sort(), [
      'content-type',
      'user-agent',
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
    assert.equal(headers['webhook-id'], 'evt_4');
    assert.equal(headers['webhook-timestamp'], String(timestampSec));
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['user-agent'], WEBHOOK_USER_AGENT);
    assert.equal(headers['user-agent'], 'NimbusPay-Webhooks/1');
  });

  it('verifies with a single secret and returns the parsed payload', () => {
    const secret = generateWebhookSecret();
    const headers = buildWebhookHeaders({ msgId: 'evt_5', timestampSec: nowSec(), body, secrets: [secret] });
    assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
  });

  it('verifies with each of two rotation secrets on its own, and not with an unrelated secret', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const headers = { ...buildWebhookHeaders({ msgId: 'evt_6', timestampSec: nowSec(), body, secrets: [oldSecret, newSecret] }) };
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    assert.equal(verifies(oldSecret, headers, body), true);
    assert.equal(verifies(newSecret, headers, body), true);
    assert.equal(verifies(generateWebhookSecret(), headers, body), false);
  });

  it('fails verification when body, timestamp or id are tampered with', () => {
    const secret = generateWebhookSecret();
    const timestampSec = nowSec();
    const headers = { ...buildWebhookHeaders({ msgId: 'evt_7', timestampSec, body, secrets: [secret] }) };
    assert.equal(verifies(secret, headers, body), true);
    assert.equal(verifies(secret, headers, body.replace('1999', '9999')), false);
    assert.equal(verifies(secret, headers, `${body} `), false);
    // Still inside the library's 5-minute tolerance, so only the signature can make this fail.
    assert.equal(verifies(secret, { ...headers, 'webhook-timestamp': String(timestampSec - 1) }, body), false);
    assert.equal(verifies(secret, { ...headers, 'webhook-id': 'evt_8' }, body), false);
  });

  it('signs non-ASCII bodies over their UTF-8 bytes', () => {
    const secret = generateWebhookSecret();
    const unicodeBody = JSON.stringify({ description: 'Café ☕ — 東京' });
    const headers = { ...buildWebhookHeaders({ msgId: 'evt_9', timestampSec: nowSec(), body: unicodeBody, secrets: [secret] }) };
    assert.equal(verifies(secret, headers, unicodeBody), true);
    assert.equal(verifies(secret, headers, Buffer.from(unicodeBody, 'utf8').toString('latin1')), false);
  });
});
