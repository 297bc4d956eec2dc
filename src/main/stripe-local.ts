import type { AddressInfo } from 'node:net';
import type { Logger } from '../platform/logger.js';
import { buildStripeLocalServer } from '../stripe-local/index.js';

export interface StripeLocalRoleOptions {
  host: string;
  port: number;
  databaseUrl: string;
  /** Where events are POSTed, signed with `webhookSecret`; both or neither. */
  webhookUrl?: string;
  webhookSecret?: string;
  settlementDelayMs: number;
  logger: Logger;
}

/**
 * Starts the local Stripe-compatible server (`npm start -- --processor=stripe-local`; never in production). It is a
 * separate HTTP service even when run in-process: the Stripe adapter reaches it only through the official SDK.
 */
export async function startStripeLocalRole(options: StripeLocalRoleOptions): Promise<{ url: string; close(): Promise<void> }> {
  if ((options.webhookUrl === undefined) !== (options.webhookSecret === undefined)) {
    throw new Error('stripe-local: webhookUrl and webhookSecret go together');
  }
  const app = await buildStripeLocalServer({
    logger: options.logger.child({ role: 'stripe-local' }),
    databaseUrl: options.databaseUrl,
    settlementDelayMs: options.settlementDelayMs,
    ...(options.webhookUrl !== undefined && options.webhookSecret !== undefined
      ? { webhook: { url: options.webhookUrl, secret: options.webhookSecret } }
      : {}),
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
