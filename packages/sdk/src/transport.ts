import { ConnectionError, parseRetryAfterSeconds, type NimbusPayError } from './errors.js';

/** What one HTTP exchange needs, independent of tokens and retries. */
export interface TransportSettings {
  fetch: typeof fetch;
  timeoutMs: number;
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** a Retry-After longer than this is not waited for: the error is thrown instead */
  maxRetryAfterMs: number;
  userAgent: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export interface RawRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Statuses that mean "the request was not carried out, or may be tried again safely if it is idempotent". */
const RETRYABLE_STATUSES = new Set([500, 502, 503, 504]);

export function headersToRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => { out[key.toLowerCase()] = value; });
  return out;
}

/** One HTTP exchange with a timeout; a network failure or timeout becomes a ConnectionError (status 0). */
export async function sendOnce(settings: TransportSettings, request: RawRequest): Promise<RawResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), settings.timeoutMs);
  try {
    const response = await settings.fetch(request.url, {
      method: request.method,
      headers: { 'user-agent': settings.userAgent, accept: 'application/json', ...request.headers },
      ...(request.body !== undefined ? { body: request.body } : {}),
      signal: controller.signal,
    });
    const text = await response.text();
    let body: unknown = undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    return { status: response.status, headers: headersToRecord(response.headers), body };
  } catch (error) {
    const timedOut = controller.signal.aborted;
    // The URL is safe to name (no credentials travel in it); headers and body are not.
    throw new ConnectionError({
      message: timedOut
        ? `No answer from ${request.method} ${new URL(request.url).pathname} within ${settings.timeoutMs} ms`
        : `Could not reach NimbusPay for ${request.method} ${new URL(request.url).pathname}: ${describeNetworkError(error)}`,
      status: 0,
      type: 'connection_error',
      code: timedOut ? 'timeout' : 'connection_failed',
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Exponential backoff with jitter: attempt 0 waits about baseDelayMs, doubling, capped, each wait in [½, 1]× of it. */
export function backoffMs(settings: TransportSettings, retryIndex: number): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** retryIndex);
  return Math.round(ceiling / 2 + (settings.random() * ceiling) / 2);
}

/**
 * How long to wait before trying again after `error`, or undefined if trying again is not safe or not useful.
 * `retrySafe` says the request may be sent twice (a GET, or a POST carrying an Idempotency-Key).
 */
export function retryDelayMs(settings: TransportSettings, error: NimbusPayError, retryIndex: number, retrySafe: boolean): number | undefined {
  if (retryIndex >= settings.maxRetries) return undefined;
  if (error.status === 429) {
    // A throttled request was refused before any work, so even a POST without a key may be sent again.
    const seconds = parseRetryAfterSeconds(error.headers['retry-after'], settings.now());
    if (seconds === undefined) return backoffMs(settings, retryIndex);
    const waitMs = seconds * 1000;
    return waitMs > settings.maxRetryAfterMs ? undefined : Math.max(waitMs, 0);
  }
  if (!retrySafe) return undefined;
  if (error.status === 0) return backoffMs(settings, retryIndex);
  if (error.status === 409 && error.code === 'idempotency_key_in_use') return backoffMs(settings, retryIndex);
  if (RETRYABLE_STATUSES.has(error.status)) {
    const seconds = parseRetryAfterSeconds(error.headers['retry-after'], settings.now());
    return seconds !== undefined && seconds * 1000 <= settings.maxRetryAfterMs ? seconds * 1000 : backoffMs(settings, retryIndex);
  }
  return undefined;
}
