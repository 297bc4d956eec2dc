import { errorFromResponse, ApiError, type NimbusPayError } from './errors.js';
import { retryDelayMs, sendOnce, type TransportSettings } from './transport.js';

export interface TokenCredentials {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
}

interface CachedToken {
  accessToken: string;
  expiresAtMs: number;
  refreshAtMs: number;
}

/** Refresh this long before expiry: a tenth of the lifetime, at most a minute (tokens live 60 s to 1 h). */
function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs / 10);
}

/**
 * Client-credentials tokens (RFC 6749 §4.4), cached until shortly before they expire. Concurrent calls that find no
 * valid token share one token request, so a burst of calls costs one token, not one each.
 */
export class TokenManager {
  #cached: CachedToken | undefined;
  #inFlight: Promise<CachedToken> | undefined;
  /** token requests sent (for diagnostics and tests) */
  requests = 0;

  constructor(
    private readonly credentials: TokenCredentials,
    private readonly settings: TransportSettings,
  ) {}

  async accessToken(): Promise<string> {
    const cached = this.#cached;
    if (cached && this.settings.now() < cached.refreshAtMs) return cached.accessToken;
    this.#inFlight ??= this.#fetchToken().finally(() => { this.#inFlight = undefined; });
    return (await this.#inFlight).accessToken;
  }

  /** Forget `accessToken` if it is still the cached one (the API called it invalid), so the next call gets a new one. */
  invalidate(accessToken: string): void {
    if (this.#cached?.accessToken === accessToken) this.#cached = undefined;
  }

  async #fetchToken(): Promise<CachedToken> {
    const { baseUrl, clientId, clientSecret, scope } = this.credentials;
    // RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are joined and base64-encoded.
    const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString();
    for (let retry = 0; ; retry++) {
      this.requests++;
      let error: NimbusPayError;
      try {
        const sentAt = this.settings.now();
        const res = await sendOnce(this.settings, {
          method: 'POST',
          url: `${baseUrl}/oauth/token`,
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        if (res.status === 200) return this.#store(res.body, sentAt, res.headers);
        error = errorFromResponse(res.status, res.headers, res.body);
      } catch (thrown) {
        error = thrown as NimbusPayError;
        if (!(error instanceof Error) || !('status' in error)) throw thrown;
      }
      // A token request changes nothing on the server: it is always safe to send again.
      const delay = retryDelayMs(this.settings, error, retry, true);
      if (delay === undefined) throw error;
      await this.settings.sleep(delay);
    }
  }

  #store(body: unknown, sentAtMs: number, headers: Record<string, string>): CachedToken {
    const { access_token: accessToken, expires_in: expiresIn } = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
    if (typeof accessToken !== 'string' || typeof expiresIn !== 'number' || expiresIn <= 0) {
      throw new ApiError({ message: 'The token endpoint answered 200 without an access_token and expires_in', status: 200, type: 'api_error', code: 'invalid_token_response', requestId: headers['x-request-id'], headers });
    }
    // Counted from when the request was sent, so time spent in transit shortens the token's life, never extends it.
    const lifetimeMs = expiresIn * 1000;
    const token = { accessToken, expiresAtMs: sentAtMs + lifetimeMs, refreshAtMs: sentAtMs + lifetimeMs - refreshMarginMs(lifetimeMs) };
    this.#cached = token;
    return token;
  }
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
