import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withTenantTx } from '../../src/platform/db.js';
import { recordEventAndFanOut } from '../../src/modules/webhooks/index.js';
import type { TestPlatform } from '../helpers/platform.js';
import { eventually, notYet } from '../helpers/eventually.js';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export type Responder = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Replaces how the receiver answers (default: 200 "ok"). */
  respond(responder: Responder): void;
  waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1, recording every request it gets. */
export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let responder: Responder = (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'); };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: ReceivedRequest = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() };
      requests.push(received);
      void Promise.resolve(responder(received, res)).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    requests,
    respond(r) { responder = r; },
    async waitFor(predicate, timeoutMs = 10_000) {
      await eventually(() => predicate(requests) || notYet(`${requests.length} requests received`), { timeoutMs, intervalMs: 10, what: 'receiver: condition' });
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

let counter = 0;

/** Records an event the way the payments module does: in a tenant transaction, with recordEventAndFanOut. */
export async function emitEvent(
  platform: TestPlatform,
  tenantId: string,
  type = 'payment.succeeded',
  object: Record<string, unknown> = {},
): Promise<string> {
  const id = (object.id as string | undefined) ?? `pay_test${String(++counter).padStart(6, '0')}`;
  return withTenantTx(platform.database.db, tenantId, (tx) =>
    recordEventAndFanOut(tx, tenantId, { type, objectType: 'payment', objectId: id, object: { id, object: 'payment', amount: 1000, currency: 'eur', ...object } }),
  );
}

export async function createEndpoint(
  platform: TestPlatform,
  token: string,
  body: { url: string; enabled_events?: string[]; description?: string },
): Promise<{ id: string; secret: string }> {
  const res = await platform.request('POST', '/v1/webhook_endpoints', { token, body: { enabled_events: ['*'], ...body } });
  if (res.status !== 201) throw new Error(`endpoint create failed: ${res.status} ${res.text}`);
  return { id: res.body.id, secret: res.body.secret };
}
