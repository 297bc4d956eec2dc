import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import Stripe from 'stripe';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';

import { startStripeLocalRole } from '../main/stripe-local.js';
import { cardData, startWebhookReceiver, stripeClient, WEBHOOK_SECRET, type WebhookReceiver } from './stripe-local.test-kit.js';
import { eventually } from '../../test/helpers/eventually.js';

/** The role as `npm start -- --processor=stripe-local` starts it: listening, reachable by the SDK, closable. */

let db: TestDatabase;
let receiver: WebhookReceiver;

before(async () => {
  db = await createTestDatabase();
  receiver = await startWebhookReceiver(new Stripe('sk_test_receiver_only'));
});

after(async () => {
  await receiver?.close();
  await db?.drop();
});

it('listens, answers the SDK and signs its webhooks; close() stops it', async (t) => {
  const role = await startStripeLocalRole({
    host: '127.0.0.1',
    port: 0,
    databaseUrl: db.ownerUrl,
    webhookUrl: receiver.url,
    webhookSecret: WEBHOOK_SECRET,
    settlementDelayMs: 100,
    logger: pino({ level: 'warn' }),
  });
  t.after(() => role.close());
  const port = Number(new URL(role.url).port);
  const pi = await stripeClient(port).paymentIntents.create({ amount: 700, currency: 'usd', confirm: true, payment_method_data: cardData('4242424242424242') });
  assert.equal(pi.status, 'succeeded');
  await eventually(async () => receiver.events.find((e) => e.type === 'payment_intent.succeeded' && (e.data.object as { id: string }).id === pi.id), { timeoutMs: 15_000 });
  await role.close();
  await assert.rejects(fetch(`${role.url}/_control`));
});

it('refuses a webhook URL without its secret', async () => {
  await assert.rejects(
    startStripeLocalRole({ host: '127.0.0.1', port: 0, databaseUrl: db.ownerUrl, webhookUrl: receiver.url, settlementDelayMs: 100, logger: pino({ level: 'warn' }) }),
    /go together/,
  );
});
