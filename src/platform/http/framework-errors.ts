import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CODES, errorBody, type ErrorCode } from '../errors.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { AnyFastify } from './fastify-instance.js';
import { sendError } from './error-handler.js';
import { API_CSP, baseSecurityHeaders, isNoStorePath, type SecurityHeaderOptions } from './security-headers.js';

/** Longer path parameters are refused with 414 before routing goes further (ids are at most 64 characters). */
export const MAX_PATH_PARAM_LENGTH = 100;
/** Longer URLs are refused with 414; Node's own limit on the request line and headers together is 16 KiB (431). */
export const MAX_URL_LENGTH = 8192;

/**
 * Errors the router raises before a route is chosen (Fastify's `frameworkErrors`): no hook runs for them, so the
 * request id and security headers are set here, and the answer goes through the one error model like any other.
 * Fastify ignores what this returns; the reply (a thenable) is sent, not awaited.
 */
export function createFrameworkErrorHandler(options: SecurityHeaderOptions) {
  const security = baseSecurityHeaders(options);
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    void reply.headers({ 'x-request-id': request.id, ...security, 'content-security-policy': API_CSP });
    if (isNoStorePath(request.url.split('?')[0] ?? '/')) void reply.header('cache-control', 'no-store');
    if (error.code === 'FST_ERR_BAD_URL') {
      void sendError(reply, 'invalid_request', 'The URL path has a malformed percent-encoding: encode each path segment with encodeURIComponent.');
      return;
    }
    if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      void sendError(reply, 'uri_too_long', `A path parameter is longer than ${MAX_PATH_PARAM_LENGTH} characters.`);
      return;
    }
    request.log.error({ err: error }, 'router error');
    void sendError(reply, 'internal_error', 'An internal error occurred. Quote the request_id when contacting support.');
  };
}

/**
 * onRequest, before anything parses the URL: a URL past MAX_URL_LENGTH is a 414, and an HTTP/1.1 request without
 * a Host header a 400 (Node would answer that one itself with an empty body, so its own check is turned off).
 */
export async function checkRequestLine(request: FastifyRequest): Promise<void> {
  if (request.url.length > MAX_URL_LENGTH) {
    throw new AppError('uri_too_long', `The URL is longer than ${MAX_URL_LENGTH} characters.`);
  }
  if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
    throw new AppError('invalid_request', 'An HTTP/1.1 request needs a Host header: send one.', { param: 'host' });
  }
}

/**
 * While the server closes, requests still arriving on open keep-alive connections would get Fastify's own 503 body
 * (return503OnClosing, turned off in createHttpApp); they get the error model instead, and the connection closes so
 * the client's retry goes to another instance.
 */
export function registerClosingAnswer(app: AnyFastify): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new AppError('service_unavailable', 'The server is shutting down: retry the request.', { headers: { 'retry-after': '1' } });
  });
}

interface ClientErrorClass {
  code: ErrorCode;
  message: string;
}

function classify(err: NodeJS.ErrnoException): ClientErrorClass {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'request_timeout', message: 'The request (headers and body) was not received in time.' };
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'request_header_fields_too_large', message: 'The request line and headers are larger than 16 KiB.' };
    case 'HPE_INVALID_HEADER_TOKEN':
      return { code: 'invalid_request', message: 'A header name or value contains a character HTTP does not allow: remove control characters and non-ASCII bytes from headers.' };
    default:
      return { code: 'invalid_request', message: 'The request is not valid HTTP/1.1: check the request line (METHOD /path HTTP/1.1) and the headers your client sends.' };
  }
}

/** Long enough for the answer to reach the client before the connection goes, short enough not to hold it. */
const LINGER_MS = 1000;
const answered = new WeakSet<Socket>();

/**
 * Writes the documented error object with a fresh request id straight to the socket, for the paths where Node has
 * no request object for Fastify to answer through, then closes the connection. Once per socket: the parser keeps
 * failing on every chunk a client sends after a bad one, and those are just dropped.
 */
interface SocketAnswerContext {
  logger: Logger;
  security: Record<string, string>;
  /** for `doc_url` */
  publicUrl: string;
}

function answerOnSocket(socket: Socket, context: SocketAnswerContext, code: ErrorCode, message: string, cause: string | undefined): void {
  const { logger, security } = context;
  if (answered.has(socket)) {
    socket.destroy();
    return;
  }
  answered.add(socket);
  const status = ERROR_CODES[code].status;
  const requestId = newId('request');
  logger.info({ request_id: requestId, status_code: status, error_code: code, cause }, 'client error');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // An earlier request on this connection was received whole and is still being handled (bytes that are not HTTP
  // were pipelined behind it): it runs on regardless, so its own answer must reach the client, not this one in its
  // place. Close once it is sent. A request still arriving (a body past its timeout) has no answer of its own.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse & { req?: IncomingMessage } })._httpMessage;
  if (inFlight && !inFlight.writableFinished && (inFlight.headersSent || inFlight.req?.complete)) {
    const close = () => {
      socket.end();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    };
    inFlight.once('finish', close);
    inFlight.once('close', close);
    return;
  }
  const body = errorBody(code, message, { requestId, publicUrl: context.publicUrl });
  const json = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(json)),
    'x-request-id': requestId,
    ...security,
    'content-security-policy': API_CSP,
    'cache-control': 'no-store',
    connection: 'close',
  };
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${json}`);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/**
 * Node's `clientError` path: the HTTP parser refused the bytes (malformed request, oversized headers, bad header
 * characters) or the request or headers timeout expired.
 */
export function createClientErrorHandler(logger: Logger, options: SecurityHeaderOptions, publicUrl: string): (err: NodeJS.ErrnoException, socket: Socket) => void {
  const context = { logger, security: baseSecurityHeaders(options), publicUrl };
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { code, message } = classify(err);
    answerOnSocket(socket, context, code, message, err.code);
  };
}

/**
 * An `Expect` other than 100-continue: Node answers 417 itself, with an empty body, outside the error model. RFC 9110
 * §10.1.1 lets a server ignore an expectation it does not understand, so the request is handled as if it had none
 * (and answered like any other, in the error model when it fails).
 */
export function registerExpectationPassThrough(server: Server): void {
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    server.emit('request', request, response);
  });
}

/**
 * `CONNECT` never reaches Fastify: Node hands it to a 'connect' listener or, without one, drops the connection
 * without a word. This API is no proxy, so it is a 405 like any other method a route does not take.
 */
export function registerConnectRefusal(server: Server, logger: Logger, options: SecurityHeaderOptions, publicUrl: string): void {
  const context = { logger, security: baseSecurityHeaders(options), publicUrl };
  server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    answerOnSocket(socket, context, 'method_not_allowed', 'The CONNECT method is not allowed: this server is not a proxy.', 'CONNECT');
  });
}
