import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
}

/**
 * A real HTTP proxy on 127.0.0.1 in front of the platform: it records each request (to count token requests and
 * pages fetched as the server saw them) and can spoil the next bearer token, so the platform itself answers 401.
 */
export interface CountingProxy {
  url: string;
  requests: ProxiedRequest[];
  count(method: string, pathPrefix: string): number;
  /** The next /v1 request reaches the platform with a tampered token signature. */
  spoilNextBearerToken(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  const requests: ProxiedRequest[] = [];
  let spoilNext = false;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', path });
    const headers = { ...req.headers, host: target.host };
    if (spoilNext && path.startsWith('/v1/') && typeof headers.authorization === 'string') {
      spoilNext = false;
      // change the signature's first character: a well-formed token the platform must refuse as invalid. Not the
      // last one: in base64url it also carries padding bits, and a signature ending in 'A' still verifies with 'B'
      // (one token in four).
      const token = headers.authorization.slice('Bearer '.length);
      const at = token.lastIndexOf('.') + 1;
      headers.authorization = `Bearer ${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    }
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (method, prefix) => requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length,
    spoilNextBearerToken() { spoilNext = true; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export type ScriptedAnswer = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang';

/**
 * A loopback HTTP server that answers from a script, for transport behaviour the platform cannot be made to show on
 * demand (a 503, a Retry-After, a request that never gets an answer). It records what the SDK sent.
 */
export interface ScriptedServer {
  url: string;
  received: Array<{ method: string; path: string; headers: IncomingMessage['headers']; body: string; at: number }>;
  close(): Promise<void>;
}

/** Answers `/oauth/token` with a token unless `answer` says otherwise; `index` counts earlier requests to the same path. */
export async function startScriptedServer(answer: (req: { method: string; path: string; index: number }) => ScriptedAnswer | undefined): Promise<ScriptedServer> {
  const received: ScriptedServer['received'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = received.filter((r) => r.path === entry.path).length;
      received.push(entry);
      const a = answer({ method: entry.method, path: entry.path, index })
        ?? (entry.path === '/oauth/token'
          ? { status: 200, body: { access_token: `scripted-token-${received.length}`, token_type: 'Bearer', expires_in: 900, scope: '' } }
          : { status: 404, body: { error: { type: 'invalid_request_error', code: 'route_not_found', message: 'no script', request_id: 'req_script' } } });
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body === undefined ? '' : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export function card(number = '4242424242424242') {
  return { number, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '123' };
}
