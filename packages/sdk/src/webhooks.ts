import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com/), as NimbusPay sends them: headers `webhook-id`,
 * `webhook-timestamp` (Unix seconds) and `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256>` entries, one
 * per active secret during a rotation), signed content `<id>.<timestamp>.<raw body>`, secrets `whsec_<base64 key>`.
 */

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookHeadersInput = Headers | Record<string, string | string[] | undefined>;

export interface SignedWebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

function decodeSecret(secret: string): Buffer {
  // A receiver's secret is stored in its own config: say what is wrong with it without ever echoing it.
  if (!secret.startsWith(SECRET_PREFIX)) throw new WebhookVerificationError('The webhook secret must start with "whsec_"');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length === 0) throw new WebhookVerificationError('The webhook secret has no key after "whsec_"');
  return key;
}

function header(headers: WebhookHeadersInput, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

function signature(key: Buffer, id: string, timestamp: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${payload}`, 'utf8').digest();
}

/** Signs `payload` as NimbusPay does; for tests, local forwarding (`nimbuspay listen`) and tools. */
export function sign(payload: string | Buffer, secret: string, options: { id: string; timestamp: number | Date }): SignedWebhookHeaders {
  const timestamp = String(options.timestamp instanceof Date ? Math.floor(options.timestamp.getTime() / 1000) : Math.floor(options.timestamp));
  const body = typeof payload === 'string' ? payload : payload.toString('utf8');
  return {
    'webhook-id': options.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature(decodeSecret(secret), options.id, timestamp, body).toString('base64')}`,
  };
}

export interface VerifyOptions {
  /** How far the timestamp may be from now, in seconds (default 300): older deliveries are refused as replays. */
  toleranceSeconds?: number;
  /** The current time; for tests. */
  now?: () => Date;
}

/**
 * Checks a delivery and returns its parsed JSON body. `payload` must be the raw body exactly as received (parse it
 * after, never before: re-serialized JSON does not match the signature). `secret` may be a list (during a rotation).
 * Throws WebhookVerificationError when a header is missing, the timestamp is out of tolerance or no signature matches.
 */
export function verify<T = unknown>(payload: string | Buffer, headers: WebhookHeadersInput, secret: string | string[], options: VerifyOptions = {}): T {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('The webhook-timestamp header is not a Unix time in seconds');
  const nowSeconds = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError(`The webhook timestamp is more than ${tolerance} s from now (a replay, or a wrong clock)`);
  }
  const body = typeof payload === 'string' ? payload : payload.toString('utf8');
  const secrets = Array.isArray(secret) ? secret : [secret];
  const expected = secrets.map((s) => signature(decodeSecret(s), id, timestamp, body));
  const matched = signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return expected.some((e) => e.length === given.length && timingSafeEqual(e, given));
  });
  if (!matched) throw new WebhookVerificationError('No webhook signature matches the payload and secret');
  try {
    return JSON.parse(body) as T;
  } catch {
    throw new WebhookVerificationError('The webhook payload is not JSON');
  }
}

export const webhooks = { verify, sign };
