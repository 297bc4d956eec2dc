import { connect } from 'node:net';

/**
 * A request as it goes on the wire. fetch and node:http normalise away most of the abuse the fuzz test sends
 * (duplicate or control-character headers, raw bytes in the request line, conflicting framing), so requests are
 * written byte for byte on a socket. Strings are sent as latin1, one byte per char: callers put UTF-8 (or
 * deliberately invalid bytes) there themselves.
 */
export interface WireRequest {
  method: string;
  /** path and query, exactly as sent */
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** when false, no Content-Length is added for the body (the caller frames it, or lies about it) */
  frame?: boolean;
}

export interface WireResponse {
  status: number;
  headers: Map<string, string[]>;
  body: Buffer;
  text: string;
  json: unknown;
}

export function header(res: WireResponse, name: string): string | undefined {
  const values = res.headers.get(name.toLowerCase());
  return values?.length === 1 ? values[0] : values?.join(', ');
}

export function encodeRequest(host: string, req: WireRequest): Buffer {
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `host: ${host}`, 'connection: close'];
  for (const [name, value] of req.headers) lines.push(`${name}: ${value}`);
  if (req.body !== undefined && req.frame !== false) lines.push(`content-length: ${req.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return req.body === undefined ? head : Buffer.concat([head, req.body]);
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Parses one HTTP/1.1 response; undefined when the bytes hold no complete status line and headers. */
export function parseResponse(data: Buffer): WireResponse | undefined {
  // an interim 100 Continue comes before the answer
  while (/^HTTP\/1\.[01] 1\d\d/.test(data.subarray(0, 12).toString('latin1'))) {
    const interimEnd = data.indexOf('\r\n\r\n');
    if (interimEnd < 0) return undefined;
    data = data.subarray(interimEnd + 4);
  }
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) return undefined;
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(i + 1).trim()]);
  }
  let body = data.subarray(end + 4);
  if (headers.get('transfer-encoding')?.some((v) => /chunked/i.test(v))) body = dechunk(body);
  else {
    const length = Number(headers.get('content-length')?.[0]);
    if (Number.isInteger(length) && length >= 0) body = body.subarray(0, length);
  }
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: Number(m[1]), headers, body, text, json };
}

/**
 * Sends one request on a fresh connection (`Connection: close`) and reads until the server closes. The server may
 * answer and close before the whole request is written (413 on a 1 MB body): what it answered is what counts, so
 * write errors are ignored. Resolves with undefined when the connection ends without an HTTP answer.
 */
export function sendRaw(port: number, req: WireRequest, timeoutMs = 30_000): Promise<WireResponse | undefined> {
  const bytes = encodeRequest(`127.0.0.1:${port}`, req);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${req.method} ${req.target.slice(0, 120)}`));
    }, timeoutMs);
    // write without half-closing: some stacks treat the client's FIN as an abort and never answer
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {
      // EPIPE / ECONNRESET once the server answered early; 'close' follows and decides
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks)));
    });
  });
}
