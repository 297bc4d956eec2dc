import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db.js';
import { AppError, ERROR_CODES, errorBody, type ErrorCode } from '../errors.js';
import { describeValidation, type AjvLikeError } from './validation-errors.js';

export { toParamName } from './validation-errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The configured public URL (NIMBUSPAY_PUBLIC_URL), for each error's `doc_url`; '' links relative to this host. */
    publicUrl: string;
  }
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, param?: string): FastifyReply {
  // remembered for the request log, which records the code of every failed request (never its message)
  reply.request.errorCode = code;
  const body = errorBody(code, message, { param, requestId: reply.request.id, publicUrl: reply.server.publicUrl ?? '' });
  return reply.code(ERROR_CODES[code].status).type('application/json; charset=utf-8').send(body);
}

/** The one place every failure becomes the documented error object. A 5xx never carries internal detail. */
export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof AppError) {
    if (err.options.headers) reply.headers(err.options.headers);
    if (err.status >= 500) request.log.error({ err }, 'request failed');
    return sendError(reply, err.code, err.message, err.options.param);
  }
  if (err.validation) {
    const context = (err as FastifyError & { validationContext?: string }).validationContext ?? 'body';
    const schemas = request.routeOptions.schema as Record<string, unknown> | undefined;
    const { code, message, param } = describeValidation(err.validation as AjvLikeError[], schemas?.[context], context);
    return sendError(reply, code, message, param);
  }
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped === 'invalid_json') return sendError(reply, 'invalid_json', 'The request body is not valid JSON.');
  if (mapped === 'payload_too_large') return sendError(reply, 'payload_too_large', 'The request body is too large.');
  if (mapped === 'unsupported_media_type') {
    return sendError(reply, 'unsupported_media_type', 'Unsupported Content-Type; send application/json.');
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /json/i.test(err.message))) {
    return sendError(reply, 'invalid_json', 'The request body is not valid JSON.');
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    request.log.info({ err: { code: err.code, message: err.message } }, 'client error');
    return sendError(reply, 'invalid_request', 'The request could not be processed.');
  }
  if (isDatabaseUnavailable(err)) {
    request.log.warn({ err }, 'database unavailable');
    void reply.header('retry-after', '1');
    return sendError(reply, 'service_unavailable', 'The service is briefly unavailable; retry shortly (a POST with the same Idempotency-Key).');
  }
  request.log.error({ err }, 'unhandled error');
  return sendError(reply, 'internal_error', 'An internal error occurred. Quote the request_id when contacting support.');
}
