import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { buildWebhookHeaders, generateWebhookSecret } from './webhook-signature.js';
import { createWebhookTransport } from './webhook-transport.js';
import type { WebhookTransport } from './webhook-transport.js';

interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  origin: string;
  port: number;
  hits: Hit[];
  /** TCP connections accepted, whether or not a request followed. */
  connections: () => number;
  close(): Promise<void>;
}

async function startReceiver(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<Receiver> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  let connections = 0;
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hits,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const payload = JSON.stringify({ type: 'payment.succeeded', data: { id: 'pay_1', amount_minor: '1999' } });
const plainRequest = (url: string): { url: string; headers: Record<string, string>; body: string } => ({
  url,
  headers: { 'content-type': 'application/json' },
  body: payload,
});

describe('webhook transport against real receivers', () => {
  const receivers: Receiver[] = [];
  const transports: WebhookTransport[] = [];
  let transport: WebhookTransport;
  const start = async (handler: Parameters<typeof startReceiver>[0]): Promise<Receiver> => {
    const receiver = await startReceiver(handler);
    receivers.push(receiver);
    return receiver;
  };
  const newTransport = (options: Partial<Parameters<typeof createWebhookTransport>[0]> = {}): WebhookTransport => {
    // ordinary deliveries to a loopback receiver: far more than a busy machine needs
    const created = createWebhookTransport({ allowPrivateTargets: true, requireHttps: false, timeoutMs: 10_000, ...options });
    transports.push(created);
    return created;
  };

  before(() => {
    transport = newTransport();
  });
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('2xx is delivered, with a signature the receiver can verify', async () => {
    const secret = generateWebhookSecret();
    const verified: unknown[] = [];
    const receiver = await start((req, res, body) => {
      verified.push(new Webhook(secret).verify(body, req.headers as Record<string, string>));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok thanks');
    });
    const headers = buildWebhookHeaders({ msgId: 'evt_1', timestampSec: Math.floor(Date.now() / 1000), body: payload, secrets: [secret] });
    const result = await transport.deliver({ url: `${receiver.origin}/hooks/nimbus?tenant=a`, headers: { ...headers }, body: payload });

    assert.equal(result.outcome, 'delivered');
    assert.equal(result.statusCode, 200);
    assert.equal(result.retryable, false);
    assert.equal(result.responseBody, 'ok thanks');
    assert.equal(result.error, undefined);
    assert.ok(result.latencyMs >= 0 && result.latencyMs < 2_000);
    assert.equal(receiver.hits.length, 1);
    const [hit] = receiver.hits;
    assert.equal(hit?.method, 'POST');
    assert.equal(hit?.url, '/hooks/nimbus?tenant=a');
    assert.equal(hit?.body, payload);
    assert.equal(hit?.headers['user-agent'], 'NimbusPay-Webhooks/1');
    assert.deepEqual(verified, [JSON.parse(payload)]);
  });

  it('204 with no body is delivered', async () => {
    const receiver = await start((_req, res) => res.writeHead(204).end());
    const result = await transport.deliver(plainRequest(`${receiver.origin}/`));
    assert.equal(result.outcome, 'delivered');
    assert.equal(result.statusCode, 204);
    assert.equal(result.responseBody, '');
  });

  it('500 is a retryable failure', async () => {
    const receiver = await start((_req, res) => res.writeHead(500).end('boom'));
    const result = await transport.deliver(plainRequest(`${receiver.origin}/`));
    assert.deepEqual({ ...result, latencyMs: 0 }, {
      outcome: 'failed',
      statusCode: 500,
      retryable: true,
      latencyMs: 0,
      responseBody: 'boom',
    });
  });

  it('4xx other than 410 is a retryable failure', async () => {
    const receiver = await start((_req, res) => res.writeHead(400).end());
    const result = await transport.deliver(plainRequest(`${receiver.origin}/`));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.statusCode, 400);
    assert.equal(result.retryable, true);
  });

  it('410 means the endpoint is gone and is not retried', async () => {
    const receiver = await start((_req, res) => res.writeHead(410).end('gone'));
    const result = await transport.deliver(plainRequest(`${receiver.origin}/`));
    assert.equal(result.outcome, 'endpoint_gone');
    assert.equal(result.statusCode, 410);
    assert.equal(result.retryable, false);
  });

  it('3xx is a failure and the redirect target is never contacted', async () => {
    const target = await start((_req, res) => res.writeHead(200).end());
    const redirector = await start((_req, res) => res.writeHead(302, { location: `${target.origin}/stolen` }).end());
    const result = await transport.deliver(plainRequest(`${redirector.origin}/`));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.statusCode, 302);
    assert.equal(result.error, 'redirect_not_followed');
    assert.equal(result.retryable, true);
    assert.equal(redirector.hits.length, 1);
    assert.equal(target.hits.length, 0);

    const permanent = await start((_req, res) => res.writeHead(308, { location: `${target.origin}/` }).end());
    assert.equal((await transport.deliver(plainRequest(`${permanent.origin}/`))).error, 'redirect_not_followed');
    assert.equal(target.hits.length, 0);
  });

  it('a receiver slower than timeoutMs times out, retryable', async () => {
    // never answers (until the receiver closes after the test): only the timeout can end the delivery
    const slow = await start(() => {});
    const fast = newTransport({ timeoutMs: 200 });
    const result = await fast.deliver(plainRequest(`${slow.origin}/`));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error, 'timeout');
    assert.equal(result.retryable, true);
    assert.equal(result.statusCode, undefined);
    assert.ok(result.latencyMs >= 150, `latency ${result.latencyMs}`);
  });

  it('the timeout covers the whole request, including a body that keeps trickling in', async () => {
    const trickle = await start((_req, res) => {
      res.writeHead(200);
      const interval = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(interval));
    });
    const fast = newTransport({ timeoutMs: 200, maxResponseBodyBytes: 1_000_000 });
    const result = await fast.deliver(plainRequest(`${trickle.origin}/`));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error, 'timeout');
    assert.equal(result.statusCode, 200);
    assert.equal(result.retryable, true);
  });

  it('a closed port is connection_refused, retryable', async () => {
    const closed = await startReceiver((_req, res) => res.end());
    await closed.close();
    const result = await transport.deliver(plainRequest(`${closed.origin}/`));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error, 'connection_refused');
    assert.equal(result.retryable, true);
    assert.equal(result.statusCode, undefined);
  });

  it('truncates the response body to maxResponseBodyBytes', async () => {
    const big = await start((_req, res) => res.writeHead(500).end('x'.repeat(10_000)));
    const small = newTransport({ maxResponseBodyBytes: 100 });
    const result = await small.deliver(plainRequest(`${big.origin}/`));
    assert.equal(result.statusCode, 500);
    assert.equal(result.responseBody, 'x'.repeat(100));
  });

  // The body never ends: 'delivered' is only possible by stopping early (waiting would end in a timeout).
  it('stops reading an endless body once it has enough, without waiting for the timeout', async () => {
    const endless = await start((_req, res) => {
      res.writeHead(200);
      const interval = setInterval(() => res.write('y'.repeat(64)), 5);
      res.on('close', () => clearInterval(interval));
    });
    const result = await newTransport({ timeoutMs: 30_000, maxResponseBodyBytes: 256 }).deliver(plainRequest(`${endless.origin}/`));
    assert.equal(result.outcome, 'delivered');
    assert.equal(result.responseBody, 'y'.repeat(256));
  });

  it('defaults to 4096 bytes of body and makes it storable as PostgreSQL text', async () => {
    const receiver = await start((_req, res) => res.writeHead(200).end(`a\u0000b${'z'.repeat(5_000)}`));
    const result = await transport.deliver(plainRequest(`${receiver.origin}/`));
    assert.equal(Buffer.byteLength(result.responseBody ?? '', 'utf8'), 4096 + 2);
    assert.ok(result.responseBody?.startsWith('a\uFFFDb'));
  });

  it('with maxResponseBodyBytes 0 reads no body at all', async () => {
    const receiver = await start((_req, res) => res.writeHead(200).end('ignored'));
    const result = await newTransport({ maxResponseBodyBytes: 0 }).deliver(plainRequest(`${receiver.origin}/`));
    assert.equal(result.outcome, 'delivered');
    assert.equal(result.responseBody, '');
  });

  it('a failed TLS handshake is tls_error, retryable', async () => {
    const plainHttp = await start((_req, res) => res.writeHead(200).end());
    const result = await transport.deliver(plainRequest(`https://127.0.0.1:${plainHttp.port}/`));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error, 'tls_error');
    assert.equal(result.retryable, true);
    assert.equal(plainHttp.hits.length, 0);
  });

  it('carries Retry-After on 429/503 (delta-seconds and HTTP-date), ignores it elsewhere', async () => {
    const now = new Date('2025-03-10T12:00:00Z');
    const withClock = newTransport({ now: () => now });
    const busy = await start((_req, res) => res.writeHead(503, { 'retry-after': '7' }).end());
    const limited = await start((_req, res) => res.writeHead(429, { 'retry-after': 'Mon, 10 Mar 2025 12:02:00 GMT' }).end());
    const garbage = await start((_req, res) => res.writeHead(502, { 'retry-after': 'later' }).end());
    const plain500 = await start((_req, res) => res.writeHead(500, { 'retry-after': '7' }).end());

    const busyResult = await withClock.deliver(plainRequest(`${busy.origin}/`));
    assert.equal(busyResult.outcome, 'failed');
    assert.equal(busyResult.retryable, true);
    assert.equal(busyResult.retryAfterMs, 7_000);
    assert.equal((await withClock.deliver(plainRequest(`${limited.origin}/`))).retryAfterMs, 120_000);
    const garbageResult = await withClock.deliver(plainRequest(`${garbage.origin}/`));
    assert.equal(garbageResult.statusCode, 502);
    assert.equal(garbageResult.retryAfterMs, undefined);
    assert.equal((await withClock.deliver(plainRequest(`${plain500.origin}/`))).retryAfterMs, undefined);
  });

  it('refuses URLs the static check rejects, without retrying', async () => {
    const receiver = await start((_req, res) => res.writeHead(200).end());
    const httpsOnly = newTransport({ requireHttps: true });
    const result = await httpsOnly.deliver(plainRequest(`${receiver.origin}/`));
    assert.equal(result.outcome, 'failed');
    assert.equal(result.retryable, false);
    assert.equal(result.error, 'invalid_url: URL scheme must be https');
    const withCredentials = await transport.deliver(plainRequest(`http://user:pw@127.0.0.1:${receiver.port}/`));
    assert.equal(withCredentials.error, 'invalid_url: URL must not contain credentials');
    const encoded = await transport.deliver(plainRequest(`http://2130706433:${receiver.port}/`));
    assert.match(encoded.error ?? '', /^invalid_url: IPv4 address must be written in dotted-decimal form$/);
    assert.equal(receiver.hits.length, 0);
  });

  describe('with allowPrivateTargets=false', () => {
    let strict: WebhookTransport;
    let receiver: Receiver;
    before(async () => {
      strict = newTransport({ allowPrivateTargets: false });
      receiver = await start((_req, res) => res.writeHead(200).end());
    });

    it('refuses a loopback IP literal before connecting', async () => {
      for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1]']) {
        const result = await strict.deliver(plainRequest(`http://${host}:${receiver.port}/`));
        assert.equal(result.outcome, 'failed', host);
        assert.equal(result.retryable, false, host);
        assert.equal(result.error, 'ssrf_blocked: host is a loopback address', host);
        assert.equal(result.statusCode, undefined, host);
      }
      assert.equal(receiver.hits.length, 0);
      assert.equal(receiver.connections(), 0);
    });

    it('refuses localhost after resolving it, before connecting', async () => {
      const result = await strict.deliver(plainRequest(`http://localhost:${receiver.port}/`));
      assert.equal(result.outcome, 'failed');
      assert.equal(result.retryable, false);
      assert.equal(result.error, 'ssrf_blocked: host resolves to a loopback address');
      assert.equal(receiver.hits.length, 0);
      assert.equal(receiver.connections(), 0);
    });

    it('refuses a public-looking hostname whose DNS answer is private (injected resolver)', async () => {
      const rebinding = newTransport({
        allowPrivateTargets: false,
        resolveAll: async () => [{ address: '127.0.0.1', family: 4 }],
      });
      const result = await rebinding.deliver(plainRequest(`http://hooks.example.com:${receiver.port}/`));
      assert.equal(result.error, 'ssrf_blocked: host resolves to a loopback address');
      assert.equal(result.retryable, false);
      assert.equal(receiver.hits.length, 0);
      assert.equal(receiver.connections(), 0);
    });
  });

  it('with allowPrivateTargets=true the same localhost receiver is reachable', async () => {
    const receiver = await start((_req, res) => res.writeHead(200).end());
    const dev = newTransport({ allowPrivateTargets: true, resolveAll: async () => [{ address: '127.0.0.1', family: 4 }] });
    const result = await dev.deliver(plainRequest(`http://localhost:${receiver.port}/`));
    assert.equal(result.outcome, 'delivered');
    assert.equal(receiver.hits.length, 1);
  });

  it('rejects nonsense options', () => {
    assert.throws(() => createWebhookTransport({ allowPrivateTargets: false, requireHttps: true, timeoutMs: 0 }), /timeoutMs/);
    assert.throws(
      () => createWebhookTransport({ allowPrivateTargets: false, requireHttps: true, timeoutMs: 100, maxResponseBodyBytes: -1 }),
      /maxResponseBodyBytes/,
    );
  });
});
