/**
 * Errors in Stripe's wire shape. The HTTP status decides which class the SDK raises (400/404 →
 * StripeInvalidRequestError or, with type idempotency_error, StripeIdempotencyError; 401 → StripeAuthenticationError;
 * 402 → StripeCardError; 409 and 5xx → StripeAPIError; 429 → StripeRateLimitError), so each error carries both.
 */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: Record<string, unknown>;
  payment_method?: Record<string, unknown>;
  request_log_url?: string;
}

export class StripeLocalError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.message);
  }
}

export function docUrlFor(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
}

function withCode(body: Omit<StripeErrorBody, 'doc_url'>): StripeErrorBody {
  return body.code ? { ...body, doc_url: docUrlFor(body.code) } : body;
}

export function invalidRequest(message: string, extra: { code?: string; param?: string; status?: number } = {}): StripeLocalError {
  const { status = 400, ...rest } = extra;
  return new StripeLocalError(status, withCode({ type: 'invalid_request_error', message, ...rest }));
}

export function parameterUnknown(param: string): StripeLocalError {
  return invalidRequest(`Received unknown parameter: ${param}`, { code: 'parameter_unknown', param });
}

export function parameterMissing(param: string): StripeLocalError {
  return invalidRequest(`Missing required param: ${param}.`, { code: 'parameter_missing', param });
}

export function resourceMissing(objectName: string, id: string, param: string): StripeLocalError {
  return invalidRequest(`No such ${objectName}: '${id}'`, { code: 'resource_missing', param, status: 404 });
}

export function cardError(fields: {
  code: string;
  message: string;
  declineCode?: string;
  param?: string;
  charge?: string;
  paymentIntent?: Record<string, unknown>;
  paymentMethod?: Record<string, unknown>;
}): StripeLocalError {
  return new StripeLocalError(
    402,
    withCode({
      type: 'card_error',
      code: fields.code,
      message: fields.message,
      ...(fields.declineCode ? { decline_code: fields.declineCode } : {}),
      ...(fields.param ? { param: fields.param } : {}),
      ...(fields.charge ? { charge: fields.charge } : {}),
      ...(fields.paymentIntent ? { payment_intent: fields.paymentIntent } : {}),
      ...(fields.paymentMethod ? { payment_method: fields.paymentMethod } : {}),
    }),
  );
}

/** Stripe's answer when its own side failed; nothing in it about what failed (the log has that). */
export function apiError(): StripeLocalError {
  return new StripeLocalError(500, {
    type: 'api_error',
    message: 'An unknown error occurred while processing your request. Please try again later.',
  });
}

export function rateLimited(): StripeLocalError {
  return invalidRequest('Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.', {
    code: 'rate_limit',
    status: 429,
  });
}

/** The wire body, with the dashboard link Stripe adds to every error answer. */
export function errorWireBody(error: StripeLocalError, requestId: string): { error: StripeErrorBody } {
  return { error: { ...error.body, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}` } };
}
