import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db.js';
import { AppError, ERROR_CODES, type ErrorBody, type ErrorCode } from '../errors.js';

interface AjvLikeError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  /** set when the error is about an object's key (propertyNames), not its value */
  propertyName?: string;
}

/** `/payment_method/card/number` → `payment_method[card][number]` (the form payment developers know). */
export function toParamName(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (extra) parts.push(extra);
  if (parts.length === 0) return '';
  return parts[0] + parts.slice(1).map((p) => `[${p}]`).join('');
}

function describeValidation(err: FastifyError): { message: string; param?: string } {
  const first = (err.validation as AjvLikeError[] | undefined)?.[0];
  if (!first) return { message: 'The request is invalid.' };
  const context = (err as FastifyError & { validationContext?: string }).validationContext;
  if (typeof first.propertyName === 'string') {
    const key = first.propertyName.length > 64 ? `${first.propertyName.slice(0, 64)}…` : first.propertyName;
    const owner = toParamName(first.instancePath);
    // built by hand: toParamName drops an empty extra segment, and an empty key is exactly what is being named
    const param = owner ? `${owner}[${key}]` : key;
    return { message: `Invalid key ${param}: the key ${first.message ?? 'is invalid'}.`, param };
  }
  if (first.keyword === 'required') {
    const param = toParamName(first.instancePath, String(first.params.missingProperty));
    return { message: `Missing required parameter: ${param}.`, param };
  }
  if (first.keyword === 'additionalProperties') {
    const param = toParamName(first.instancePath, String(first.params.additionalProperty));
    return { message: `Unknown parameter: ${param}.`, param };
  }
  const param = toParamName(first.instancePath);
  if (!param) return { message: `Invalid ${context ?? 'request'}: ${first.message ?? 'invalid value'}.` };
  return { message: `Invalid ${param}: ${first.message ?? 'invalid value'}.`, param };
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
  const body: ErrorBody = {
    error: { type: ERROR_CODES[code].type, code, message, ...(param ? { param } : {}), request_id: reply.request.id },
  };
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
    const { message, param } = describeValidation(err);
    return sendError(reply, 'invalid_request', message, param);
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
