/**
 * A complete NimbusPay integration in one file, using only @nimbuspay/sdk:
 *   1. receive webhooks on a local HTTP server and verify each one with webhooks.verify;
 *   2. register that server as a webhook endpoint (development allows loopback URLs);
 *   3. create a card payment with manual capture, capture it, refund part of it;
 *   4. wait until the payment.* and refund.* webhooks for them have arrived and verified.
 *
 * Run it against a running platform (`npm start` in another terminal):
 *   npx tsx examples/integration.ts
 * Credentials: NIMBUSPAY_PUBLIC_URL, NIMBUSPAY_CLIENT_ID, NIMBUSPAY_CLIENT_SECRET, else the default profile of the
 * CLI's profile file (written by `npm start` or `nimbuspay login`).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NimbusPay, NimbusPayError, WebhookVerificationError, webhooks, type Event } from '@nimbuspay/sdk';

interface Connection { url: string; clientId: string; clientSecret: string }

/** The environment first, then the profile file ($NIMBUSPAY_CONFIG_DIR, $XDG_CONFIG_HOME/nimbuspay or ~/.config/nimbuspay). */
function loadConnection(env: NodeJS.ProcessEnv): Connection {
  if (env.NIMBUSPAY_CLIENT_ID && env.NIMBUSPAY_CLIENT_SECRET) {
    return { url: env.NIMBUSPAY_PUBLIC_URL ?? 'http://localhost:3000', clientId: env.NIMBUSPAY_CLIENT_ID, clientSecret: env.NIMBUSPAY_CLIENT_SECRET };
  }
  const dir = env.NIMBUSPAY_CONFIG_DIR ?? path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'nimbuspay');
  let file: { default_profile?: string; profiles?: Record<string, { url: string; client_id: string; client_secret: string }> };
  try {
    file = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  } catch {
    throw new Error(`No credentials: set NIMBUSPAY_CLIENT_ID and NIMBUSPAY_CLIENT_SECRET, or run \`npm start\` to write ${path.join(dir, 'config.json')}`);
  }
  const name = env.NIMBUSPAY_PROFILE ?? file.default_profile ?? 'local';
  const profile = file.profiles?.[name];
  if (!profile) throw new Error(`Profile "${name}" is not in ${path.join(dir, 'config.json')}`);
  return { url: env.NIMBUSPAY_PUBLIC_URL ?? profile.url, clientId: profile.client_id, clientSecret: profile.client_secret };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const connection = loadConnection(process.env);
  const np = new NimbusPay({ baseUrl: connection.url, clientId: connection.clientId, clientSecret: connection.clientSecret, userAgent: 'nimbuspay-example/1' });

  // 1. The webhook receiver. The secret is known only once the endpoint exists, so deliveries wait for it.
  let secret: string | undefined;
  const verified: Event[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!secret) return void res.writeHead(503).end();
      try {
        // verify the raw body exactly as received, then trust the parsed event
        const event = webhooks.verify<Event>(Buffer.concat(chunks), req.headers, secret);
        verified.push(event);
        log(`webhook ${event.type} ${event.id} verified`);
        res.writeHead(200).end();
      } catch (error) {
        log(`webhook refused: ${(error as WebhookVerificationError).message}`);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(Number(process.env.EXAMPLE_WEBHOOK_PORT ?? 0), '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;

  // 2. Register it.
  const endpoint = await np.webhookEndpoints.create({ url: receiverUrl, enabled_events: ['payment.*', 'refund.*'], description: 'examples/integration.ts' });
  secret = endpoint.secret;
  log(`endpoint ${endpoint.id} receiving at ${receiverUrl}`);

  try {
    // 3. Money. Each call carries an Idempotency-Key the SDK generates, so its retries never charge twice.
    const payment = await np.payments.create({
      amount: 2000,
      currency: 'eur',
      capture_method: 'manual',
      description: 'Order 1001',
      payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' } },
    });
    log(`payment ${payment.id} ${payment.status}`);
    const captured = await np.payments.capture(payment.id);
    log(`payment ${captured.id} ${captured.status} (captured ${captured.amount_captured} ${captured.currency})`);
    const refund = await np.refunds.create(payment.id, { amount: 500, reason: 'requested_by_customer' });
    log(`refund ${refund.id} ${refund.status} (${refund.amount} ${refund.currency})`);

    // 4. The webhooks for this payment and refund.
    const about = (e: Event, id: string) => (e.data as { object?: { id?: string } }).object?.id === id;
    const expected: Array<[string, string]> = [['payment.requires_capture', payment.id], ['payment.succeeded', payment.id], ['refund.succeeded', refund.id]];
    const deadline = Date.now() + Number(process.env.EXAMPLE_TIMEOUT_MS ?? 30_000);
    while (!expected.every(([type, id]) => verified.some((e) => e.type === type && about(e, id)))) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for webhooks; verified so far: ${verified.map((e) => e.type).join(', ') || 'none'}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    log('done: payment captured and refunded, every webhook verified');
  } finally {
    await np.webhookEndpoints.del(endpoint.id).catch(() => {});
    server.closeAllConnections();
    server.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof NimbusPayError) {
    process.stderr.write(`NimbusPay error ${error.status} ${error.code}: ${error.message} (request ${error.requestId ?? 'n/a'})\n`);
  } else {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exitCode = 1;
});
