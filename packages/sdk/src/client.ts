import { randomUUID } from 'node:crypto';
import { errorFromResponse, type NimbusPayError } from './errors.js';
import { TokenManager } from './token.js';
import { retryDelayMs, sendOnce, type RawResponse, type TransportSettings } from './transport.js';
import { Page, pagePromise, type PagePromise, type QueryValue } from './pagination.js';
import { createResources, type Resources } from './resources.js';

export const SDK_VERSION = '0.1.0';

export interface NimbusPayOptions {
  /** The API's base URL, e.g. `http://localhost:3000` (no trailing `/v1`). */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for; default: every scope the client has. */
  scope?: string;
  /** Retries after a network error, 409 idempotency_key_in_use, 429 or 500/502/503/504 (default 2). */
  maxRetries?: number;
  /** Per attempt, in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** First backoff delay (default 500 ms, doubling with jitter up to `maxRetryDelayMs`, default 8 000 ms). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for (default 60 000 ms): the RateLimitError is thrown. */
  maxRetryAfterMs?: number;
  fetch?: typeof fetch;
  /** Prepended to the SDK's own User-Agent, e.g. `my-shop/1.2`. */
  userAgent?: string;
  /** The clock tokens are cached against, in epoch milliseconds (default Date.now); for tests. */
  now?: () => number;
}

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Sent as `Idempotency-Key`; makes a POST safe to retry. */
  idempotencyKey?: string;
}

/** Per-call options of money-moving calls. */
export interface IdempotentCallOptions {
  /** Default: a new UUID v4 per call, reused by every retry of that call. Pass your own to dedupe across processes. */
  idempotencyKey?: string;
}

/**
 * The NimbusPay API client. One instance per set of credentials; it caches its access token, so share it.
 * ```ts
 * const np = new NimbusPay({ baseUrl, clientId, clientSecret });
 * const payment = await np.payments.create({ amount: 2000, currency: 'EUR', payment_method: { type: 'card', card } });
 * ```
 */
export class NimbusPay implements Resources {
  readonly payments: Resources['payments'];
  readonly refunds: Resources['refunds'];
  readonly events: Resources['events'];
  readonly webhookEndpoints: Resources['webhookEndpoints'];
  readonly webhookDeliveries: Resources['webhookDeliveries'];
  readonly #baseUrl: string;
  readonly #settings: TransportSettings;
  readonly #tokens: TokenManager;

  constructor(options: NimbusPayOptions) {
    if (!options.baseUrl) throw new TypeError('NimbusPay: baseUrl is required');
    if (!options.clientId || !options.clientSecret) throw new TypeError('NimbusPay: clientId and clientSecret are required');
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.#settings = {
      fetch: fetchImpl,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      baseDelayMs: options.retryDelayMs ?? 500,
      maxDelayMs: options.maxRetryDelayMs ?? 8_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      userAgent: `${options.userAgent ? `${options.userAgent} ` : ''}nimbuspay-node/${SDK_VERSION} node/${process.versions.node}`,
      now: options.now ?? Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
    };
    this.#tokens = new TokenManager(
      { baseUrl: this.#baseUrl, clientId: options.clientId, clientSecret: options.clientSecret, scope: options.scope },
      this.#settings,
    );
    const resources = createResources(this);
    this.payments = resources.payments;
    this.refunds = resources.refunds;
    this.events = resources.events;
    this.webhookEndpoints = resources.webhookEndpoints;
    this.webhookDeliveries = resources.webhookDeliveries;
  }

  /** Token requests this client has sent so far (each retry counts). */
  get tokenRequestCount(): number {
    return this.#tokens.requests;
  }

  /**
   * Any API call, with the client's token handling, retries and typed errors: the escape hatch for endpoints the
   * SDK has no method for yet. `path` starts with `/`, e.g. `/v1/payments`.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.#send(method, path, options)).body as T;
  }

  /** A list endpoint as a Page (auto-paginating). */
  list<T extends { id: string }>(path: string, query: Record<string, QueryValue> = {}): PagePromise<T> {
    const fetchPage = async (q: Record<string, QueryValue>): Promise<Page<T>> =>
      new Page<T>(await this.request<{ data: T[]; has_more: boolean }>('GET', path, { query: q }), q, fetchPage);
    return pagePromise(fetchPage(query));
  }

  /** Money-moving POST: always carries an Idempotency-Key, generated once per call and reused by its retries. */
  idempotentPost<T>(path: string, body: unknown, options: IdempotentCallOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { body: body ?? {}, idempotencyKey: options.idempotencyKey ?? randomUUID() });
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<RawResponse> {
    const upper = method.toUpperCase();
    const url = this.#baseUrl + path + queryString(options.query);
    const body = options.body === undefined ? (upper === 'POST' ? '{}' : undefined) : JSON.stringify(options.body);
    // Sending twice is safe for reads, and for writes that carry an Idempotency-Key (the API replays the first answer).
    const retrySafe = upper === 'GET' || upper === 'HEAD' || options.idempotencyKey !== undefined;
    let refreshedAfter401 = false;
    for (let retry = 0; ; retry++) {
      const token = await this.#tokens.accessToken();
      let error: NimbusPayError;
      try {
        const res = await sendOnce(this.#settings, {
          method: upper,
          url,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(options.idempotencyKey !== undefined ? { 'idempotency-key': options.idempotencyKey } : {}),
          },
          ...(body !== undefined ? { body } : {}),
        });
        if (res.status >= 200 && res.status < 300) return res;
        error = errorFromResponse(res.status, res.headers, res.body);
      } catch (thrown) {
        if (!isNimbusPayError(thrown)) throw thrown;
        error = thrown;
      }
      if (error.status === 401 && error.code === 'invalid_token' && !refreshedAfter401) {
        // The token expired early or its signing key was retired: one new token, one more try, not counted as a retry.
        refreshedAfter401 = true;
        this.#tokens.invalidate(token);
        retry--;
        continue;
      }
      const delay = retryDelayMs(this.#settings, error, retry, retrySafe);
      if (delay === undefined) throw error;
      await this.#settings.sleep(delay);
    }
  }
}

function isNimbusPayError(value: unknown): value is NimbusPayError {
  return value instanceof Error && typeof (value as NimbusPayError).status === 'number' && typeof (value as NimbusPayError).code === 'string';
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.append(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
