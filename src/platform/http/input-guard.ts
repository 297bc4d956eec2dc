import type { FastifyRequest } from 'fastify';
import type { AnyFastify } from './fastify-instance.js';
import { AppError } from '../errors.js';
import { findUnstorable } from '../storable-text.js';

const MAX_SEGMENT_SHOWN = 64;

/** A key as it may appear in `param`: the offending characters spelled out, never echoed raw; long keys cut. */
function showSegment(segment: string): string {
  const spelled = segment.replace(/\u0000|[\uD800-\uDFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return spelled.length > MAX_SEGMENT_SHOWN ? `${spelled.slice(0, MAX_SEGMENT_SHOWN)}…` : spelled;
}

/** `['metadata', 'k']` → `metadata[k]`, the form `param` uses everywhere. */
function paramOf(path: readonly string[]): string {
  const shown = path.map(showSegment);
  return (shown[0] ?? '') + shown.slice(1).map((s) => `[${s}]`).join('');
}

function unstorable(param: string): AppError {
  return new AppError(
    'invalid_request',
    `Invalid ${param}: it contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored.`,
    { param },
  );
}

/**
 * The query string's own percent-encoding. The query parser keeps a malformed escape (`%zz`, `%FF`) as literal
 * text, so `q=%FF` would silently search for the three characters "%FF"; the path's router refuses the same
 * thing with a 400, and so does this.
 */
function checkQueryEncoding(url: string): void {
  const start = url.indexOf('?');
  if (start < 0) return;
  for (const pair of url.slice(start + 1).split('&')) {
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    let key: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    } catch {
      throw new AppError('invalid_request', 'The query string has a malformed percent-encoding.', { param: 'query' });
    }
    if (eq < 0) continue;
    try {
      decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      const param = paramOf([key]);
      throw new AppError('invalid_request', `Invalid ${param}: malformed percent-encoding.`, { param });
    }
  }
}

/** Path parameters, query and body, in that order (the order a reader of the URL meets them). */
export function checkRequestInput(request: Pick<FastifyRequest, 'params' | 'query' | 'body' | 'url'>): void {
  const inParams = findUnstorable(request.params);
  if (inParams) throw unstorable(paramOf(inParams));
  checkQueryEncoding(request.url);
  const inQuery = findUnstorable(request.query);
  if (inQuery) throw unstorable(paramOf(inQuery));
  const inBody = findUnstorable(request.body);
  if (inBody) throw unstorable(inBody.length > 0 ? paramOf(inBody) : 'body');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Registers the check on every route (before schema validation, so before anything — idempotency records
 * included — is written) and a JSON body parser that refuses bytes that are not UTF-8 instead of decoding them to
 * U+FFFD, which would store something other than what was sent.
 */
export function registerInputGuard(app: AnyFastify): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new AppError('invalid_json', 'The request body is not valid UTF-8.'), undefined);
      return;
    }
    parseJson(request, text, done);
  });
  app.addHook('preValidation', async (request) => {
    checkRequestInput(request);
  });
}
