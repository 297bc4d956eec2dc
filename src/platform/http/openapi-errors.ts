/**
 * The documented error object and the shared error responses, derived from ERROR_CODES (src/platform/errors.ts):
 * a code added there appears in the `code` enum and as an example of its status's response without an edit here.
 * Conventions: see openapi.ts.
 */
import { ERROR_CODES, type ErrorCode } from '../errors.js';

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const codesWithStatus = (...statuses: number[]) => () => CODES.filter((c) => statuses.includes(ERROR_CODES[c].status));

export interface ErrorResponseSpec {
  status: number;
  description: string;
  retryAfter?: boolean;
  codes(): ErrorCode[];
}

/** One shared response per status (`#/components/responses/<name>`), plus IdempotencyConflict (409 with Retry-After). */
export const ERROR_RESPONSES = {
  BadRequest: { status: 400, description: 'The request is invalid: a missing or malformed parameter (named in `param`), bad JSON, or a missing Idempotency-Key.', codes: codesWithStatus(400) },
  Unauthorized: { status: 401, description: 'No valid access token (missing, expired, or signed by an unknown key): get a new one from /oauth/token.', codes: codesWithStatus(401) },
  PaymentRequired: { status: 402, description: 'The processor declined the operation.', codes: codesWithStatus(402) },
  Forbidden: { status: 403, description: 'The token lacks the scope this operation needs.', codes: codesWithStatus(403) },
  NotFound: { status: 404, description: 'No such object for your tenant (another tenant\'s object answers the same).', codes: codesWithStatus(404) },
  MethodNotAllowed: { status: 405, description: 'The path exists but not with this method (see the Allow header).', codes: codesWithStatus(405) },
  Conflict: { status: 409, description: 'The object is not in a state that allows this operation.', codes: () => CODES.filter((c) => ERROR_CODES[c].status === 409 && !c.startsWith('idempotency_')) },
  IdempotencyConflict: {
    status: 409, retryAfter: true,
    description: 'The object\'s state does not allow this operation, or the Idempotency-Key is still in use by a running request (retry after Retry-After), or its record expired.',
    codes: codesWithStatus(409),
  },
  PayloadTooLarge: { status: 413, description: 'The request body is too large.', codes: codesWithStatus(413) },
  UnsupportedMediaType: { status: 415, description: 'Send application/json.', codes: codesWithStatus(415) },
  UnprocessableEntity: { status: 422, description: 'The request is well-formed but cannot be done: an amount over the limit, or an Idempotency-Key reused with another request.', codes: codesWithStatus(422) },
  TooManyRequests: { status: 429, retryAfter: true, description: 'Too many requests: retry after the Retry-After header\'s seconds.', codes: codesWithStatus(429) },
  InternalError: { status: 500, description: 'An unexpected error (a bug on our side): quote the request_id to support. POSTs are safe to retry with the same Idempotency-Key.', codes: codesWithStatus(500) },
  ServiceUnavailable: {
    status: 503, retryAfter: true,
    description: 'The database or the processor is briefly unavailable, or the server is shutting down: retry (with the same Idempotency-Key) after Retry-After.',
    codes: codesWithStatus(503),
  },
} as const satisfies Record<string, ErrorResponseSpec>;
export type ErrorResponseName = keyof typeof ERROR_RESPONSES;

/** The error object's JSON Schema: `type` and `code` enums come from ERROR_CODES. */
export function errorSchema() {
  return {
    type: 'object',
    description: 'Every error answer (except the token endpoint\'s, which follow RFC 6749 §5.2).',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['type', 'code', 'message', 'doc_url', 'request_id'],
        properties: {
          type: { type: 'string', enum: [...new Set(CODES.map((c) => ERROR_CODES[c].type))], description: 'The error category.' },
          code: { type: 'string', enum: CODES, description: 'What went wrong, for programs; each code has an entry at doc_url.' },
          message: { type: 'string', description: 'What went wrong and how to fix it, for humans; may change.' },
          param: { type: 'string', description: 'The parameter at fault, in form notation, e.g. `payment_method[card][number]`.' },
          doc_url: { type: 'string', format: 'uri', description: 'The documentation of this error code.' },
          request_id: { type: 'string', description: 'Quote it to support; also in the X-Request-Id header.' },
        },
      },
    },
  };
}

const MESSAGES: Partial<Record<ErrorCode, { message: string; param?: string }>> = {
  invalid_request: { message: 'Missing required parameter: currency.', param: 'currency' },
  invalid_json: { message: 'The request body is not valid JSON.' },
  invalid_card: { message: 'The card number is invalid (failed the Luhn check).', param: 'payment_method[card][number]' },
  invalid_bank_account: { message: 'The routing number is invalid (bad check digit).', param: 'payment_method[bank_account][routing_number]' },
  url_not_allowed: { message: 'The webhook URL must be https and resolve to a public address.', param: 'url' },
  idempotency_key_missing: { message: 'This request moves money: send an Idempotency-Key header (e.g. a UUID).', param: 'Idempotency-Key' },
  idempotency_key_invalid: { message: 'Idempotency-Key must be 1–255 visible ASCII characters.', param: 'Idempotency-Key' },
  authentication_required: { message: 'Send an access token: Authorization: Bearer <token> (from POST /oauth/token).' },
  invalid_token: { message: 'The access token has expired: get a new one from POST /oauth/token.' },
  insufficient_scope: { message: "This operation needs the 'payments:write' scope." },
  resource_not_found: { message: "No such payment: 'pay_01jq8x4m3c7kq2v9d8r6t5w4yz'", param: 'id' },
  processor_declined: { message: 'The processor declined the capture.' },
  invalid_state: { message: 'This payment is succeeded; only a payment in requires_capture can be captured.' },
  idempotency_key_in_use: { message: 'A request with this Idempotency-Key is still being processed; retry later.', param: 'Idempotency-Key' },
  idempotency_key_reused: { message: 'This Idempotency-Key was used with a different request.', param: 'Idempotency-Key' },
  amount_exceeds_limit: { message: 'The refund amount exceeds what remains refundable (1500).', param: 'amount' },
  rate_limited: { message: 'Too many failed logins for this account; try again in 15 minutes.' },
  internal_error: { message: 'An internal error occurred. Quote the request_id when contacting support.' },
  processor_unavailable: { message: 'The payment processor is unavailable; retry with the same Idempotency-Key.' },
  service_unavailable: { message: 'The service is briefly unavailable; retry shortly (a POST with the same Idempotency-Key).' },
};

/** A realistic error body for `code`, as the API answers it. */
export function errorExample(code: ErrorCode, publicUrl: string) {
  const known = MESSAGES[code];
  return {
    error: {
      type: ERROR_CODES[code].type,
      code,
      message: known?.message ?? `See ${code} in the errors guide.`,
      ...(known?.param ? { param: known.param } : {}),
      doc_url: `${publicUrl}/docs/errors#${code}`,
      request_id: 'req_01jq8x4m3c7kq2v9d8r6t5w4yz',
    },
  };
}
