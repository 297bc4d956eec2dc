/**
 * Typed errors. Every error the API answers with becomes a NimbusPayError subclass chosen by the error object's
 * `type`, carrying the HTTP status, code, param, doc URL, request id and response headers. The client secret and
 * access tokens never appear in an error.
 */

export interface ApiErrorBody {
  type?: string;
  code?: string;
  message?: string;
  param?: string;
  doc_url?: string;
  request_id?: string;
}

export interface NimbusPayErrorInit {
  message: string;
  status: number;
  type: string;
  code: string;
  param?: string | undefined;
  docUrl?: string | undefined;
  requestId?: string | undefined;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class NimbusPayError extends Error {
  override name = 'NimbusPayError';
  /** HTTP status; 0 when no response arrived (ConnectionError). */
  readonly status: number;
  /** The error object's `type`, e.g. `invalid_request_error`. */
  readonly type: string;
  /** The error object's `code`, e.g. `resource_not_found`. */
  readonly code: string;
  readonly param: string | undefined;
  readonly docUrl: string | undefined;
  /** The request id to quote to support: from the body, else the `X-Request-Id` header. */
  readonly requestId: string | undefined;
  readonly headers: Record<string, string>;

  constructor(init: NimbusPayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.type = init.type;
    this.code = init.code;
    this.param = init.param;
    this.docUrl = init.docUrl;
    this.requestId = init.requestId;
    this.headers = init.headers ?? {};
  }
}

/** 401: missing, invalid or expired credentials or token. */
export class AuthenticationError extends NimbusPayError { override name = 'AuthenticationError'; }
/** 403: the client lacks the scope for this call. */
export class PermissionError extends NimbusPayError { override name = 'PermissionError'; }
/** 4xx: the request is wrong (bad parameter, unknown object, illegal state change). */
export class InvalidRequestError extends NimbusPayError { override name = 'InvalidRequestError'; }
/** 409/422: an Idempotency-Key is in use by a request in flight, expired, or was reused with another body. */
export class IdempotencyError extends NimbusPayError { override name = 'IdempotencyError'; }
/** 429: too many requests; `retryAfterSeconds` says when to come back. */
export class RateLimitError extends NimbusPayError {
  override name = 'RateLimitError';
  get retryAfterSeconds(): number | undefined {
    return parseRetryAfterSeconds(this.headers['retry-after']);
  }
}
/** The card processor or bank declined or is unavailable. */
export class ProcessorError extends NimbusPayError { override name = 'ProcessorError'; }
/** 5xx or an answer the SDK cannot read. */
export class ApiError extends NimbusPayError { override name = 'ApiError'; }
/** No answer: the connection failed, was cut, or the request timed out. */
export class ConnectionError extends NimbusPayError { override name = 'ConnectionError'; }

/** Raised by `webhooks.verify` when a payload's signature, timestamp or headers do not check out. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

const BY_TYPE: Record<string, new (init: NimbusPayErrorInit) => NimbusPayError> = {
  authentication_error: AuthenticationError,
  permission_error: PermissionError,
  invalid_request_error: InvalidRequestError,
  idempotency_error: IdempotencyError,
  rate_limit_error: RateLimitError,
  processor_error: ProcessorError,
  api_error: ApiError,
};

/** OAuth 2.0 token endpoint errors (RFC 6749 §5.2) mapped to NimbusPay types. */
const OAUTH_TYPES: Record<string, string> = {
  invalid_client: 'authentication_error',
  unauthorized_client: 'authentication_error',
  invalid_scope: 'permission_error',
  slow_down: 'rate_limit_error',
};

function typeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/** Builds the typed error for an HTTP answer that was not a success. */
export function errorFromResponse(status: number, headers: Record<string, string>, body: unknown): NimbusPayError {
  const requestIdHeader = headers['x-request-id'];
  const envelope = (body && typeof body === 'object' ? body : {}) as { error?: unknown; error_description?: unknown };
  let init: NimbusPayErrorInit;
  if (envelope.error && typeof envelope.error === 'object') {
    const e = envelope.error as ApiErrorBody;
    init = {
      message: e.message ?? `HTTP ${status}`,
      status,
      type: e.type ?? typeForStatus(status),
      code: e.code ?? 'unknown',
      param: e.param,
      docUrl: e.doc_url,
      requestId: e.request_id ?? requestIdHeader,
      headers,
    };
  } else if (typeof envelope.error === 'string') {
    // the token endpoint answers in RFC 6749's format
    init = {
      message: typeof envelope.error_description === 'string' ? envelope.error_description : envelope.error,
      status,
      type: OAUTH_TYPES[envelope.error] ?? typeForStatus(status),
      code: envelope.error,
      requestId: requestIdHeader,
      headers,
    };
  } else {
    init = { message: `HTTP ${status} with an unreadable body`, status, type: typeForStatus(status), code: 'unknown', requestId: requestIdHeader, headers };
  }
  const Ctor = BY_TYPE[init.type] ?? (status >= 500 ? ApiError : InvalidRequestError);
  return new Ctor(init);
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfterSeconds(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}
