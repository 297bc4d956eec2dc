import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { ProcessorOperation } from './processor-port.js';

/**
 * One logical processor call over HTTP: strict timeouts, bounded retries of answers that prove nothing was done
 * (5xx, 429, refused connection), and a classification of every failure by what it tells us about the
 * processor's state. Knows nothing of the processor's body format.
 */

export type TransportResult =
  /** An answer we will not retry (2xx, 4xx except 429). `json` is undefined when the body was not JSON. */
  | { kind: 'answer'; status: number; json: unknown; attempts: number }
  /** 5xx or 429 on every attempt: the processor says it did not process the request. */
  | { kind: 'server_error'; status: number; json: unknown; attempts: number }
  /** The last attempt got no TCP connection; earlier ones (if any) were refused with 5xx/429. Nothing was done.
   * `sent` says whether any attempt reached the processor. */
  | { kind: 'connect_failed'; message: string; attempts: number; sent: boolean }
  /** Sent, then no complete answer within the deadline: the processor may have acted. */
  | { kind: 'timeout'; message: string; attempts: number }
  /** Sent, then the connection broke: the processor may have acted. */
  | { kind: 'connection_error'; message: string; attempts: number };

export interface TransportRequest {
  operation: ProcessorOperation;
  method: 'GET' | 'POST';
  path: string;
  idempotencyKey?: string;
  body?: unknown;
}

export interface ProcessorHttpTransportOptions {
  baseUrl: string;
  /** Deadline for one attempt, from dispatch to the last body byte. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Extra attempts after a 5xx/429/refused connection (0 = no retry). */
  maxRetries: number;
  retryBaseDelayMs: number;
  logger: Logger;
  /** Concurrent connections to the processor (default 16). */
  connections?: number;
  random?: () => number;
}

export interface ProcessorHttpTransport {
  send(request: TransportRequest): Promise<TransportResult>;
  close(): Promise<void>;
}

// Errors raised before a byte of the request could be written: the processor cannot have seen the request.
const CONNECT_PHASE_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

type AttemptResult =
  | { kind: 'answer'; status: number; json: unknown }
  | { kind: 'connect_failed' | 'timeout' | 'connection_error'; message: string };

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const causeCode = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof causeCode === 'string' ? causeCode : undefined;
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function createProcessorHttpTransport(options: ProcessorHttpTransportOptions): ProcessorHttpTransport {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const random = options.random ?? Math.random;
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    connect: { timeout: options.connectTimeoutMs },
    // Backstops; the per-attempt AbortSignal below is the real deadline.
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    // Below common server keep-alive timeouts, so we rarely write on a socket the server is closing
    // (a reset after sending would turn a harmless retry into an unknown outcome).
    keepAliveTimeout: 2_000,
  });

  async function attempt(request: TransportRequest): Promise<AttemptResult> {
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), options.timeoutMs);
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
      let body: string | undefined;
      if (request.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request.body);
      }
      const res = await pool.request({
        method: request.method,
        path: `${basePath}${request.path}`,
        headers,
        body: body ?? null,
        signal: controller.signal,
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { kind: 'answer', status: res.statusCode, json };
    } catch (err) {
      const code = errorCode(err);
      const message = `${code ?? 'error'}: ${(err as Error)?.message ?? String(err)}`;
      if (code !== undefined && CONNECT_PHASE_CODES.has(code)) return { kind: 'connect_failed', message };
      if (controller.signal.aborted || (code !== undefined && TIMEOUT_CODES.has(code))) {
        return { kind: 'timeout', message: `no complete answer within ${options.timeoutMs} ms` };
      }
      return { kind: 'connection_error', message };
    } finally {
      clearTimeout(deadline);
    }
  }

  return {
    async send(request) {
      const maxAttempts = 1 + Math.max(0, options.maxRetries);
      let last: AttemptResult | undefined;
      let sent = false;
      for (let n = 1; n <= maxAttempts; n++) {
        if (n > 1) {
          // Exponential backoff with jitter in [0.5, 1) of the step, so retrying clients do not synchronise.
          await sleep(options.retryBaseDelayMs * 2 ** (n - 2) * (0.5 + random() / 2));
        }
        const started = performance.now();
        last = await attempt(request);
        const log = {
          operation: request.operation,
          idempotencyKey: request.idempotencyKey,
          attempt: n,
          latencyMs: Math.round(performance.now() - started),
        };
        if (last.kind === 'answer') {
          sent = true;
          if (!isRetryableStatus(last.status)) {
            options.logger.debug({ ...log, status: last.status }, 'processor answered');
            return { kind: 'answer', status: last.status, json: last.json, attempts: n };
          }
          options.logger.warn({ ...log, status: last.status }, 'processor refused the request');
          if (n === maxAttempts) return { kind: 'server_error', status: last.status, json: last.json, attempts: n };
          continue;
        }
        if (last.kind === 'connect_failed') {
          options.logger.warn({ ...log, error: last.message }, 'processor connection failed');
          if (n === maxAttempts) return { kind: 'connect_failed', message: last.message, attempts: n, sent };
          continue;
        }
        // Timeouts and broken connections are never retried here: the processor may have acted, and whether to
        // resend (with the same key) or reconcile first is the caller's decision.
        options.logger.warn({ ...log, error: last.message }, 'processor outcome unknown');
        return { kind: last.kind, message: last.message, attempts: n };
      }
      /* c8 ignore next */
      throw new Error('unreachable: the retry loop always returns');
    },
    async close() {
      await pool.close();
    },
  };
}
