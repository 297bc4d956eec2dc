import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { NimbusPay, WebhookVerificationError, webhooks, type Event } from '@nimbuspay/sdk';
import { buildWebhookHeaders, generateWebhookSecret } from '../../src/modules/webhooks/webhook-signature.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { startReceiver, type ReceivedRequest, type Receiver } from '../webhooks/helpers.js';
import { card } from './helpers.js';

describe('sdk: webhooks.verify on real deliveries', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let receiver: Receiver;
  let np: NimbusPay;
  before(async () => {
    platform = await startTestPlatform({ worker: true });
    tenant = await createTenant(platform);
    receiver = await startReceiver();
    np = new NimbusPay({ baseUrl: platform.baseUrl, clientId: tenant.clientId, clientSecret: tenant.clientSecret });
  });
  after(async () => {
    await receiver?.close();
    await platform?.close();
  });

  // each test registers its own endpoint, told apart by the receiver path it delivers to
  const deliveryOf = async (path: string, paymentId: string, type: string): Promise<ReceivedRequest> => {
    const match = (r: ReceivedRequest) => r.path === path && r.body.includes(paymentId) && JSON.parse(r.body).type === type;
    await receiver.waitFor((all) => all.some(match), 15_000);
    return receiver.requests.find(match)!;
  };

  it('accepts the worker\'s delivery and returns the event; refuses a tampered body, a wrong secret, an old timestamp', async () => {
    const endpoint = await np.webhookEndpoints.create({ url: `${receiver.url}/plain`, enabled_events: ['payment.*'] });
    const payment = await np.payments.create({ amount: 3100, currency: 'usd', payment_method: { type: 'card', card: card() } });
    const delivery = await deliveryOf('/hooks/plain', payment.id, 'payment.succeeded');

    const event = webhooks.verify<Event>(delivery.body, delivery.headers, endpoint.secret);
    assert.equal(event.type, 'payment.succeeded');
    assert.equal((event.data as { object: { id: string } }).object.id, payment.id);
    // a Buffer body and a fetch Headers object work the same
    const asHeaders = new Headers(Object.entries(delivery.headers).map(([k, v]) => [k, String(v)]));
    assert.equal(webhooks.verify<Event>(Buffer.from(delivery.body), asHeaders, endpoint.secret).id, event.id);

    const tampered = delivery.body.replace('3100', '9999');
    assert.notEqual(tampered, delivery.body);
    assert.throws(() => webhooks.verify(tampered, delivery.headers, endpoint.secret), WebhookVerificationError);
    assert.throws(() => webhooks.verify(delivery.body, delivery.headers, generateWebhookSecret()), WebhookVerificationError);
    const sentAt = Number(delivery.headers['webhook-timestamp']) * 1000;
    assert.throws(() => webhooks.verify(delivery.body, delivery.headers, endpoint.secret, { now: () => new Date(sentAt + 301_000) }), /300 s/);
    assert.doesNotThrow(() => webhooks.verify(delivery.body, delivery.headers, endpoint.secret, { now: () => new Date(sentAt + 299_000) }));
    assert.throws(() => webhooks.verify(delivery.body, delivery.headers, endpoint.secret, { toleranceSeconds: 10, now: () => new Date(sentAt + 11_000) }), WebhookVerificationError);
    const { 'webhook-signature': _dropped, ...unsigned } = delivery.headers;
    assert.throws(() => webhooks.verify(delivery.body, unsigned, endpoint.secret), /Missing/);
  });

  it('during a secret rotation each delivery carries both signatures: the old and the new secret each verify it', async () => {
    const endpoint = await np.webhookEndpoints.create({ url: `${receiver.url}/rotating`, enabled_events: ['payment.*'] });
    const rotated = await np.webhookEndpoints.rotateSecret(endpoint.id, { expire_previous_after_seconds: 3600 });
    const payment = await np.payments.create({ amount: 3200, currency: 'usd', payment_method: { type: 'card', card: card() } });
    const delivery = await deliveryOf('/hooks/rotating', payment.id, 'payment.succeeded');
    assert.equal(String(delivery.headers['webhook-signature']).split(' ').length, 2);
    assert.equal(webhooks.verify<Event>(delivery.body, delivery.headers, endpoint.secret).type, 'payment.succeeded');
    assert.equal(webhooks.verify<Event>(delivery.body, delivery.headers, rotated.secret).type, 'payment.succeeded');
    assert.equal(webhooks.verify<Event>(delivery.body, delivery.headers, [generateWebhookSecret(), rotated.secret]).type, 'payment.succeeded');
  });
});

describe('sdk: webhooks.sign', () => {
  it('signs exactly as the platform does, and as the Standard Webhooks reference library verifies', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded', data: { object: { id: 'pay_1' } } });
    const timestamp = Math.floor(Date.now() / 1000);
    const ours = webhooks.sign(body, secret, { id: 'msg_1', timestamp });
    const platform = buildWebhookHeaders({ msgId: 'msg_1', timestampSec: timestamp, body, secrets: [secret] });
    assert.equal(ours['webhook-signature'], platform['webhook-signature']);
    assert.equal(ours['webhook-timestamp'], platform['webhook-timestamp']);
    assert.deepEqual(new Webhook(secret).verify(body, { ...ours }), JSON.parse(body));
    assert.deepEqual(webhooks.verify(body, ours, secret), JSON.parse(body));
  });

  it('refuses a secret without the whsec_ prefix without echoing it', () => {
    assert.throws(() => webhooks.sign('{}', 'not-a-secret-123', { id: 'm', timestamp: 1 }), (e: Error) => e instanceof WebhookVerificationError && !e.message.includes('not-a-secret-123'));
  });
});
