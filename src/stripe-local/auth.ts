import type { FastifyRequest } from 'fastify';
import { invalidRequest, type StripeLocalError } from './stripe-errors.js';

/** Stripe takes the secret key as a Bearer token, or as the user name of HTTP basic auth with no password. */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') return undefined;
  const [, bearer] = /^Bearer\s+(\S+)\s*$/i.exec(header) ?? [];
  if (bearer !== undefined) return bearer;
  const [, basic] = /^Basic\s+(\S+)\s*$/i.exec(header) ?? [];
  if (basic !== undefined) {
    const user = Buffer.from(basic, 'base64').toString('utf8');
    const colon = user.indexOf(':');
    return colon === -1 ? user : user.slice(0, colon);
  }
  return '';
}

function maskKey(key: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}${'*'.repeat(Math.max(0, key.length - prefix.length - 4))}${key.slice(-4)}`;
}

/**
 * The 401 Stripe answers; the SDK raises StripeAuthenticationError for it (by status). Stripe's body says
 * `invalid_request_error` here, not a type of its own.
 */
export function authenticate(request: FastifyRequest, acceptedKey: string | undefined): StripeLocalError | undefined {
  const key = presentedKey(request);
  if (key === undefined) {
    return invalidRequest(
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
      { status: 401 },
    );
  }
  if (/^(sk|rk)_live_/.test(key)) {
    return invalidRequest(`This local Stripe server only accepts test mode keys; a live mode key was provided: ${maskKey(key)}`, { status: 401 });
  }
  const valid = acceptedKey !== undefined ? key === acceptedKey : /^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key);
  if (!valid) return invalidRequest(`Invalid API Key provided: ${maskKey(key)}`, { status: 401 });
  return undefined;
}
