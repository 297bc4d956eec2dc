import type { FastifyRequest } from 'fastify';
import type { AnyFastify } from './fastify-instance.js';
import { AppError } from '../errors.js';
import { findUnstorable } from '../storable-text.js';
import { findNonIntegerToken } from './json-integers.js';
import { bracketPath } from './validation-errors.js';

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
    'parameter_invalid_string',
    `Invalid ${param}: it contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored; remove it (or send the text as valid UTF-8).`,
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
      throw new AppError('invalid_request', 'The query string has a malformed percent-encoding; encode each name and value with encodeURIComponent.', { param: 'query' });
    }
    if (eq < 0) continue;
    try {
      decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      const param = paramOf([key]);
      throw new AppError('parameter_invalid_format', `Invalid ${param}: malformed percent-encoding; encode the value with encodeURIComponent.`, { param });
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

/** Methods whose body is optional on the wire: a route whose body fields are all optional takes none at all. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Registers the check on every route (before schema validation, so before anything — idempotency records
 * included — is written) and a JSON body parser that refuses bytes that are not UTF-8 instead of decoding them to
 * U+FFFD, which would store something other than what was sent, and refuses `20.00` or `2e3` where the schema
 * wants an integer (JSON.parse would make them 20 and 2000).
 *
 * A request with no body (or an empty application/json one) is validated as `{}`: `POST …/capture` with nothing
 * to say works, and a route with required fields answers `parameter_missing` naming the first one.
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
    if (text.length === 0) {
      done(null, {});
      return;
    }
    // called with a callback, Fastify's parser answers through it and returns nothing (its type also allows the
    // promise form)
    void parseJson(request, text, (err: Error | null, parsed?: unknown) => {
      if (err) {
        done(err, undefined);
        return;
      }
      const schema = (request.routeOptions.schema as { body?: unknown } | undefined)?.body;
      const bad = findNonIntegerToken(text, schema, request.server.getSchemas());
      if (bad) {
        const param = bracketPath(bad.path);
        const message = `Invalid ${param}: it must be an integer (a JSON number without a fraction or exponent, e.g. 2000 for 20.00 USD), not ${bad.token}.`;
        done(new AppError('parameter_invalid_integer', message, { param }), undefined);
        return;
      }
      done(null, parsed);
    });
  });
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && BODY_METHODS.has(request.method) && (request.routeOptions.schema as { body?: unknown } | undefined)?.body) {
      request.body = {};
    }
    checkRequestInput(request);
  });
}
