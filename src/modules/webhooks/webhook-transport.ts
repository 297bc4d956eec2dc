import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Agent, buildConnector } from 'undici';
import { parseRetryAfter } from './retry-schedule.js';
import {
  assertPublicAddress,
  checkWebhookUrl,
  createCheckedLookup,
  isSsrfBlockedError,
  SsrfBlockedError,
} from './ssrf-guard.js';
import type { ResolveAllAddresses } from './ssrf-guard.js';

export interface WebhookDeliveryRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type DeliveryOutcome = 'delivered' | 'failed' | 'endpoint_gone';

export interface DeliveryResult {
  outcome: DeliveryOutcome;
  /** Set whenever the receiver answered with a status line, even if reading the body then failed. */
  statusCode?: number;
  latencyMs: number;
  /** Short machine-friendly cause, safe to show the tenant: 'timeout', 'connection_refused', 'ssrf_blocked: …'. */
  error?: string;
  /** First maxResponseBodyBytes of the response body, decoded as UTF-8 (NUL replaced, as PostgreSQL text refuses it). */
  responseBody?: string;
  /** From Retry-After on 429/502/503/504; feed it to nextRetryDelayMs. */
  retryAfterMs?: number;
  /** Whether trying again later could succeed; the delivery worker's retry decision reads only this flag. */
  retryable: boolean;
}

/** The I/O seam the delivery worker depends on. */
export interface WebhookTransport {
  deliver(request: WebhookDeliveryRequest): Promise<DeliveryResult>;
  close(): Promise<void>;
}

export interface WebhookTransportOptions {
  allowPrivateTargets: boolean;
  requireHttps: boolean;
  /** Budget for the whole request: connect, TLS, sending, response headers and reading the (truncated) body. */
  timeoutMs: number;
  maxResponseBodyBytes?: number;
  /** Clock for HTTP-date Retry-After values. */
  now?: () => Date;
  /** DNS resolution; defaults to the system resolver. */
  resolveAll?: ResolveAllAddresses;
}

const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const TLS_ERROR_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
]);
const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  ENOTFOUND: 'dns_error',
  EAI_AGAIN: 'dns_error',
  EHOSTUNREACH: 'host_unreachable',
  ENETUNREACH: 'host_unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
};

class DeliveryTimeoutError extends Error {
  constructor() {
    super('webhook delivery timed out');
    this.name = 'DeliveryTimeoutError';
  }
}

function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeNetworkError(err: unknown, timedOut: boolean): string {
  if (timedOut || err instanceof DeliveryTimeoutError) {
    return 'timeout';
  }
  const code = errorCodeOf(err) ?? errorCodeOf((err as { cause?: unknown } | null)?.cause);
  if (code === undefined) {
    return 'network_error';
  }
  if (TLS_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return 'tls_error';
  }
  return NETWORK_ERRORS[code] ?? 'network_error';
}

function ssrfBlockedMessage(err: unknown): string {
  const reason = err instanceof SsrfBlockedError ? err.reason : 'address not allowed';
  return `ssrf_blocked: host resolves to a ${reason}`;
}

async function readBodyPrefix(body: Readable, maxBytes: number): Promise<Buffer> {
  // Destroying an unfinished undici body emits 'error' (RequestAbortedError); without a listener that is an
  // uncaught exception that takes the worker down. Read errors still reach us through the iterator below.
  body.on('error', () => {});
  const chunks: Buffer[] = [];
  let size = 0;
  if (maxBytes > 0) {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const remaining = maxBytes - size;
      chunks.push(chunk.length > remaining ? chunk.subarray(0, remaining) : chunk);
      size += Math.min(chunk.length, remaining);
      if (size >= maxBytes) {
        break;
      }
    }
  }
  // Leaving the loop early (or never entering it) must not leave the rest of a huge or endless body flowing.
  body.destroy();
  return Buffer.concat(chunks, size);
}

function decodeResponseBody(bytes: Buffer): string {
  return bytes.toString('utf8').replaceAll('\u0000', '\uFFFD');
}

function classifyStatus(statusCode: number): Pick<DeliveryResult, 'outcome' | 'retryable' | 'error'> {
  if (statusCode >= 200 && statusCode < 300) {
    return { outcome: 'delivered', retryable: false };
  }
  if (statusCode === 410) {
    return { outcome: 'endpoint_gone', retryable: false };
  }
  if (statusCode >= 300 && statusCode < 400) {
    // Following a redirect would let a receiver bounce us to an address the SSRF guard never approved.
    return { outcome: 'failed', retryable: true, error: 'redirect_not_followed' };
  }
  if (statusCode >= 400 && statusCode < 600) {
    return { outcome: 'failed', retryable: true };
  }
  return { outcome: 'failed', retryable: true, error: 'invalid_status' };
}

/**
 * HTTP transport for webhook deliveries. Connections go only to addresses the SSRF guard approved: IP-literal
 * hosts are checked before connecting, hostnames through a checking DNS lookup whose answer is the address the
 * socket uses, and the connected peer address is checked once more. Redirects are never followed and proxy
 * environment variables are ignored (undici's Agent does not read them).
 */
export function createWebhookTransport({
  allowPrivateTargets,
  requireHttps,
  timeoutMs,
  maxResponseBodyBytes = 4096,
  now = () => new Date(),
  resolveAll,
}: WebhookTransportOptions): WebhookTransport {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`timeoutMs must be a positive integer (got ${timeoutMs})`);
  }
  if (!Number.isSafeInteger(maxResponseBodyBytes) || maxResponseBodyBytes < 0) {
    throw new Error(`maxResponseBodyBytes must be a non-negative integer (got ${maxResponseBodyBytes})`);
  }

  const lookup = createCheckedLookup(resolveAll ? { allowPrivateTargets, resolveAll } : { allowPrivateTargets });
  const connectChecked = buildConnector({ timeout: timeoutMs, lookup });
  const connect: buildConnector.connector = (options, callback) => {
    // net.connect never calls `lookup` for an IP literal, so literals are checked here.
    if (isIP(options.hostname) !== 0) {
      try {
        assertPublicAddress(options.hostname, allowPrivateTargets);
      } catch (err) {
        callback(err as Error, null);
        return;
      }
    }
    connectChecked(options, (err, socket) => {
      if (err !== null) {
        callback(err, null);
        return;
      }
      const peer = socket.remoteAddress ?? '';
      try {
        assertPublicAddress(peer, allowPrivateTargets);
      } catch (blocked) {
        socket.destroy();
        callback(blocked as Error, null);
        return;
      }
      callback(null, socket);
    });
  };
  const agent = new Agent({ connect, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });

  async function deliver({ url, headers, body }: WebhookDeliveryRequest): Promise<DeliveryResult> {
    const startedAt = performance.now();
    const latencyMs = (): number => Math.round(performance.now() - startedAt);

    const checked = checkWebhookUrl(url, { requireHttps, allowPrivateTargets });
    if (!checked.ok) {
      return { outcome: 'failed', retryable: false, latencyMs: latencyMs(), error: `${checked.code}: ${checked.reason}` };
    }
    const target = checked.url;

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeliveryTimeoutError()), timeoutMs);
    let statusCode: number | undefined;
    try {
      const response = await agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers,
        body,
        signal: controller.signal,
      });
      statusCode = response.statusCode;
      const responseBody = decodeResponseBody(await readBodyPrefix(response.body, maxResponseBodyBytes));
      const result: DeliveryResult = { ...classifyStatus(statusCode), statusCode, latencyMs: latencyMs(), responseBody };
      if (RETRY_AFTER_STATUSES.has(statusCode)) {
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now());
        if (retryAfterMs !== undefined) {
          result.retryAfterMs = retryAfterMs;
        }
      }
      return result;
    } catch (err) {
      if (isSsrfBlockedError(err)) {
        return { outcome: 'failed', retryable: false, latencyMs: latencyMs(), error: ssrfBlockedMessage(err) };
      }
      const result: DeliveryResult = {
        outcome: 'failed',
        retryable: true,
        latencyMs: latencyMs(),
        error: describeNetworkError(err, controller.signal.aborted),
      };
      if (statusCode !== undefined) {
        result.statusCode = statusCode;
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    deliver,
    close: () => agent.close(),
  };
}
