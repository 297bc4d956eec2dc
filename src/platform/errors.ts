/**
 * The closed list of error codes NimbusPay answers with: the HTTP status, the error type and a one-sentence
 * description of each (what it means and how to fix it; the errors guide is rendered from it, one entry per code).
 * Services throw `AppError`; only the HTTP error handler turns it into a response.
 */
interface ErrorCodeSpec {
  status: number;
  type: string;
  description: string;
}

const invalid = (description: string) => ({ status: 400, type: 'invalid_request_error', description }) as const;

export const ERROR_CODES = {
  parameter_missing: invalid('A required parameter is missing (named in `param`): send it; a body-level check such as "send at least one field" has no `param`.'),
  parameter_unknown: invalid('The request has a parameter this endpoint does not take (named in `param`): remove it, or check its spelling against the API reference.'),
  parameter_invalid_integer: invalid('The parameter must be an integer: send a JSON number without a fraction or exponent (`2000`, not `20.00`, `2e3` or `"2000"`).'),
  parameter_invalid_string: invalid('The parameter must be a string (or the string contains a character that cannot be stored, NUL or an unpaired surrogate): send it as JSON text.'),
  parameter_invalid_boolean: invalid('The parameter must be a JSON boolean: send `true` or `false`, not a string or a number.'),
  parameter_invalid_object: invalid('The parameter (or the request body itself) must be a JSON object: send `{…}` with the documented fields.'),
  parameter_invalid_array: invalid('The parameter must be a JSON array of distinct values: send `[…]` and list each value once.'),
  parameter_invalid_enum: invalid('The parameter must be one of a fixed set of values, listed in the message: send one of them, spelled exactly.'),
  parameter_invalid_format: invalid('The parameter does not have the expected format (a pattern, a date-time, an email, a URL): the message says which; correct the value.'),
  parameter_too_long: invalid('The parameter is too long (characters, list items or object keys): the message gives the maximum; shorten it.'),
  parameter_too_short: invalid('The parameter is too short or empty (characters or list items): the message gives the minimum; send a longer value.'),
  parameter_out_of_range: invalid('The number is outside its allowed range, or a range starts after it ends: the message gives the bounds; send a value inside them.'),
  parameters_exclusive: invalid('Two parameters cannot be sent together (the message names both): send only the one that matches the request.'),
  amount_too_small: invalid('The amount is below the minimum, one minor unit (`1` = 0.01 USD): send a positive integer number of minor units.'),
  amount_too_large: invalid('The amount is above the maximum (99,999,999 minor units, or what is left to capture or refund): send a smaller amount.'),
  invalid_request: invalid('The request could not be understood (malformed HTTP, a bad percent-encoding, a missing Host header, a rule across several fields): the message says what to change.'),
  invalid_json: invalid('The request body is not valid UTF-8 JSON: check the body your client sends and its Content-Type.'),
  invalid_card: invalid('The card details are invalid (number fails the Luhn check, expired, malformed CVC): the message names the field; use a valid card or a test card.'),
  invalid_bank_account: invalid('The bank account details are invalid (routing number checksum, account number length): the message names the field; use a valid account or a test account.'),
  url_not_allowed: invalid('The webhook URL points at a private, loopback or metadata address, which is refused: use a public https URL.'),
  idempotency_key_missing: invalid('This POST moves money and needs an `Idempotency-Key` header: send a unique key (a UUID) per operation and reuse it only to retry.'),
  idempotency_key_invalid: invalid('The `Idempotency-Key` header is malformed: send it once, as 1–255 visible ASCII characters (a UUID, for example).'),
  authentication_required: { status: 401, type: 'authentication_error', description: 'No credentials were sent: get an access token from `/oauth/token` and send it as `Authorization: Bearer <token>`.' },
  invalid_token: { status: 401, type: 'authentication_error', description: 'The access token is malformed, expired or not signed by this platform: request a new token from `/oauth/token`.' },
  invalid_signature: { status: 401, type: 'authentication_error', description: 'The request signature does not verify: sign the exact raw body with the current secret and a fresh timestamp.' },
  invalid_credentials: { status: 401, type: 'authentication_error', description: 'The email, password or one-time code is wrong: check them and try again.' },
  totp_required: { status: 401, type: 'authentication_error', description: 'This account needs a one-time code from its authenticator app: send it with the login.' },
  session_expired: { status: 401, type: 'authentication_error', description: 'The console session has expired: sign in again.' },
  csrf_token_invalid: { status: 403, type: 'permission_error', description: 'The `X-CSRF-Token` header is missing or does not match the session: send the token the session was issued with.' },
  insufficient_scope: { status: 403, type: 'permission_error', description: 'The token lacks the scope this endpoint needs (named in the message): request a token with that scope for a client granted it.' },
  resource_not_found: { status: 404, type: 'invalid_request_error', description: 'No object with that id exists for your account: check the id (and that it belongs to this tenant and environment).' },
  route_not_found: { status: 404, type: 'invalid_request_error', description: 'No endpoint has this URL: check the path and the API version prefix (`/v1`) against the API reference.' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', description: 'The endpoint exists but not with this HTTP method: use one listed in the `Allow` header.' },
  request_timeout: { status: 408, type: 'invalid_request_error', description: 'The request (headers and body) did not arrive in time: send it whole, promptly, and retry.' },
  processor_declined: { status: 402, type: 'processor_error', description: 'The processor refused the operation: the message says why; a declined card is a failed payment, not this error.' },
  invalid_state: { status: 409, type: 'invalid_request_error', description: 'The object is not in a state that allows this operation (e.g. capturing a failed payment): retrieve it and check its `status`.' },
  idempotency_key_in_use: { status: 409, type: 'idempotency_error', description: 'A request with this `Idempotency-Key` is still running: wait, then retry with the same key to get its answer.' },
  idempotency_key_expired: { status: 409, type: 'idempotency_error', description: 'This `Idempotency-Key` created an object whose stored answer has expired: retrieve that object (named in the message) instead of retrying.' },
  conflict: { status: 409, type: 'invalid_request_error', description: 'The change conflicts with the current data (e.g. a duplicate): the message says which; change the request.' },
  payload_too_large: { status: 413, type: 'invalid_request_error', description: 'The request body is larger than the server accepts: send a smaller body.' },
  uri_too_long: { status: 414, type: 'invalid_request_error', description: 'The URL (8 KiB) or a path parameter (100 characters) is too long: shorten it.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', description: 'The Content-Type is not supported: send JSON bodies as `application/json`.' },
  idempotency_key_reused: { status: 422, type: 'idempotency_error', description: 'This `Idempotency-Key` was used with another body or endpoint: use a new key for a new operation.' },
  rate_limited: { status: 429, type: 'rate_limit_error', description: 'Too many requests: wait for the number of seconds in `Retry-After`, then retry.' },
  request_header_fields_too_large: { status: 431, type: 'invalid_request_error', description: 'The request line and headers are larger than 16 KiB: send fewer or shorter headers.' },
  internal_error: { status: 500, type: 'api_error', description: 'Something went wrong on our side: retry with the same `Idempotency-Key`, and quote the `request_id` if it persists.' },
  processor_unavailable: { status: 503, type: 'processor_error', description: 'The payment processor cannot be reached right now: retry later with the same `Idempotency-Key`.' },
  service_unavailable: { status: 503, type: 'api_error', description: 'The service is briefly unavailable (restarting or its database is unreachable): retry after `Retry-After` seconds.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { type: string; code: ErrorCode; message: string; param?: string; doc_url: string; request_id: string };
}

/**
 * Where a code is explained: `<public URL>/docs/errors#<code>`. `publicUrl` is the configured public URL
 * (NIMBUSPAY_PUBLIC_URL); an app without one (a worker's health server) links relative to itself.
 */
export function errorDocUrl(publicUrl: string, code: ErrorCode): string {
  return `${publicUrl.replace(/\/+$/, '')}/docs/errors#${code}`;
}

/** The documented error object: the one builder every path that answers an error goes through. */
export function errorBody(code: ErrorCode, message: string, options: { param?: string; requestId: string; publicUrl: string }): ErrorBody {
  return {
    error: {
      type: ERROR_CODES[code].type,
      code,
      message,
      ...(options.param ? { param: options.param } : {}),
      doc_url: errorDocUrl(options.publicUrl, code),
      request_id: options.requestId,
    },
  };
}

export class AppError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { param?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
  }
}

export const notFound = (resource: string, id: string): AppError =>
  new AppError('resource_not_found', `No such ${resource}: '${id}'`, { param: 'id' });
