import fc from 'fast-check';
import type { Operation } from './openapi-model.js';

export interface HeaderContext {
  /** the bearer token the owner (or the other tenant) uses on this operation */
  tokenFor(op: Operation, who: 'owner' | 'other'): string;
}

export interface HeaderAbuse {
  what: string;
  headers: Array<[string, string]>;
  /** the abuse is about credentials: the identity's own headers are left out */
  ownAuth: boolean;
  /** credentials no route may accept */
  mustRefuse?: boolean;
  body?: Buffer;
  frame?: boolean;
  /** the answer must carry this request id: it answers the request sent, not bytes sent after it */
  answersRequestId?: string;
}

export const PIPELINED_REQUEST_ID = 'fuzz-pipelined-request-0001';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The token's claims re-signed with `alg: none`, and with its signature stripped. */
function forged(token: string): string[] {
  const [, payload] = token.split('.');
  return [`${b64url({ alg: 'none', typ: 'at+jwt' })}.${payload}.`, `${token.split('.').slice(0, 2).join('.')}.`];
}

/** Abuse of headers and of message framing, drawn per operation (its tokens, its signature header if any). */
export function headerAbuse(op: Operation, ctx: HeaderContext): { headers: fc.Arbitrary<HeaderAbuse>; framing: fc.Arbitrary<HeaderAbuse> } {
  const owner = ctx.tokenFor(op, 'owner');
  const other = ctx.tokenFor(op, 'other');
  const auth = (what: string, ...values: string[]): HeaderAbuse => ({
    what, headers: values.map((v): [string, string] => ['authorization', v]), ownAuth: true,
    // Node keeps the first of repeated Authorization headers, so a valid first one may legitimately succeed
    mustRefuse: values.length === 1,
  });
  const plain = (what: string, headers: Array<[string, string]>): HeaderAbuse => ({ what, headers, ownAuth: false });
  // Framing abuse goes without credentials: Node may hand the request to the app before its parser fails on the
  // body, and a request still running after the answer would write into the next case's observation.
  const framed = (what: string, headers: Array<[string, string]>, body: string): HeaderAbuse => ({
    what, headers: [['content-type', 'application/json'], ...headers], ownAuth: true, body: Buffer.from(body, 'latin1'), frame: false,
  });
  const [none, stripped] = forged(owner);
  const tenantRead = op.method === 'GET' && op.scope !== undefined && !/^(platform|support):/.test(op.scope);

  const cases: HeaderAbuse[] = [
    auth('two Authorization headers: owner, other tenant', `Bearer ${owner}`, `Bearer ${other}`),
    auth('two Authorization headers: owner twice', `Bearer ${owner}`, `Bearer ${owner}`),
    auth('two Authorization headers: Bearer and Basic', `Bearer ${owner}`, 'Basic eDp5'),
    auth('bearer token of 9,000 characters', `Bearer ${'a'.repeat(9000)}`),
    auth('bearer token of 70,000 characters', `Bearer ${'a'.repeat(70_000)}`),
    auth('Authorization: Bearer (no token)', 'Bearer'),
    auth('Authorization: empty', ''),
    // RFC 6750 allows 1*SP after the scheme: accepting this is legitimate
    { ...auth('Bearer with two spaces', `Bearer  ${owner}`), mustRefuse: false },
    auth('token followed by junk', `Bearer ${owner} junk`),
    auth('token followed by a control character', `Bearer ${owner}\u0001`),
    auth('token followed by a latin1 byte', `Bearer ${owner}\u00ff`),
    auth('Basic credentials on a bearer route', `Basic ${Buffer.from('x:y').toString('base64')}`),
    auth('token re-signed with alg none', `Bearer ${none}`),
    auth('token with its signature stripped', `Bearer ${stripped}`),
    auth('three-part garbage token', 'Bearer a.b.c'),
    auth('unknown scheme', `Token ${owner}`),
    plain('one 20 KB header', [['x-fuzz', 'h'.repeat(20_000)]]),
    plain('one 15 KB header', [['x-fuzz', 'h'.repeat(15_000)]]),
    plain('200 headers', Array.from({ length: 200 }, (_, i): [string, string] => [`x-fuzz-${i}`, 'v'.repeat(50)])),
    plain('header name with a space', [['x bad', '1']]),
    plain('header value with NUL', [['x-fuzz', 'a\u0000b']]),
    plain('header value with a control character', [['x-fuzz', 'a\u0001b']]),
    plain('obsolete line folding', [['x-fuzz', 'a\r\n b']]),
    plain('second Host header', [['host', 'evil.example']]),
    plain('Idempotency-Key empty', [['idempotency-key', '']]),
    plain('Idempotency-Key blank', [['idempotency-key', ' ']]),
    plain('Idempotency-Key of 256 characters', [['idempotency-key', 'k'.repeat(256)]]),
    plain('Idempotency-Key of 10,000 characters', [['idempotency-key', 'k'.repeat(10_000)]]),
    plain('Idempotency-Key with a control character', [['idempotency-key', 'k\u0001k']]),
    plain('Idempotency-Key with latin1 bytes', [['idempotency-key', 'k\u00ff\u00e9']]),
    plain('Idempotency-Key with spaces', [['idempotency-key', 'a key with spaces']]),
    plain('Idempotency-Key %00', [['idempotency-key', '%00']]),
    plain('two different Idempotency-Keys', [['idempotency-key', 'fuzz-key-a'], ['idempotency-key', 'fuzz-key-b']]),
    plain('X-Request-Id of 5,000 characters', [['x-request-id', 'r'.repeat(5000)]]),
    plain('X-Request-Id with markup', [['x-request-id', '<script>alert(1)</script>']]),
    plain('two X-Request-Ids', [['x-request-id', 'fuzz-request-a1'], ['x-request-id', 'fuzz-request-b2']]),
    plain('Accept: text/html', [['accept', 'text/html']]),
    plain('Accept-Charset: utf-16', [['accept-charset', 'utf-16']]),
    plain('odd Accept-Encoding', [['accept-encoding', 'gzip;q=1e308, *;q=NaN']]),
    plain('garbage X-Forwarded-For', [['x-forwarded-for', 'garbage, 999.1.1.1, ::g']]),
    plain('Expect: bogus', [['expect', 'bogus']]),
    plain('Content-Encoding: gzip on a plain body', [['content-encoding', 'gzip']]),
  ];
  const framing: HeaderAbuse[] = [
    framed('Content-Length and Transfer-Encoding together', [['content-length', '2'], ['transfer-encoding', 'chunked']], '2\r\n{}\r\n0\r\n\r\n'),
    framed('two different Content-Lengths', [['content-length', '2'], ['content-length', '3']], '{}'),
    framed('Content-Length: -1', [['content-length', '-1']], '{}'),
    framed('Content-Length: abc', [['content-length', 'abc']], '{}'),
    // Connection: close is sent, so the bytes after the request must be ignored, never answered instead of it. With
    // credentials (on tenant reads, which write nothing) the request runs long enough for the parser to reach them.
    {
      ...framed('bytes after the request (pipelined garbage)', [['content-length', '2'], ['x-request-id', PIPELINED_REQUEST_ID]], '{}GARBAGE\r\n\r\n'),
      answersRequestId: PIPELINED_REQUEST_ID,
      ownAuth: !tenantRead,
    },
    framed('bad chunk size', [['transfer-encoding', 'chunked']], 'zz\r\n{}\r\n0\r\n\r\n'),
    framed('Transfer-Encoding: gzip', [['transfer-encoding', 'gzip']], '{}'),
    framed('Transfer-Encoding: chunked, identity', [['transfer-encoding', 'chunked, identity']], '2\r\n{}\r\n0\r\n\r\n'),
    framed('Expect: 100-continue', [['expect', '100-continue'], ['content-length', '2']], '{}'),
  ];
  const signature = op.params.find((p) => p.in === 'header' && p.name.endsWith('signature'))?.name;
  if (signature) {
    for (const value of ['', 't=', 'v1=zz', 't=abc,v1=00', `t=99999999999999999999,v1=${'0'.repeat(64)}`, 't=-1,v1=00',
      'v1=00,'.repeat(200), 's'.repeat(5000), `t=1e308,v1=${'0'.repeat(64)}`, 't=1,t=2,v1=00', '\u00ff']) {
      cases.push({ what: `${signature}: ${JSON.stringify(value.slice(0, 40))}`, headers: [[signature, value]], ownAuth: true, mustRefuse: true });
    }
    cases.push({ what: `two ${signature} headers`, headers: [[signature, 't=1,v1=00'], [signature, 't=2,v1=11']], ownAuth: true, mustRefuse: true });
  }
  return { headers: fc.constantFrom(...cases), framing: fc.constantFrom(...framing) };
}
