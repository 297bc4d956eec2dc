import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks (https://www.standardwebhooks.com/): secrets are `whsec_` + base64 key; the spec asks for
// keys between 24 and 64 bytes, which we enforce so a truncated or mistyped secret fails loudly, not silently.
const SECRET_PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const GENERATED_KEY_BYTES = 32;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// webhook-id travels in a header and is part of the signed content: keep it to visible ASCII so it can neither
// break the header nor be ambiguous in `id.timestamp.body`.
const MSG_ID_PATTERN = /^[\x21-\x7e]{1,255}$/;

export const WEBHOOK_USER_AGENT = 'NimbusPay-Webhooks/1';

export interface WebhookSigningInput {
  msgId: string;
  timestampSec: number;
  body: string;
  secrets: string[];
}

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'content-type': 'application/json';
  'user-agent': string;
}

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_KEY_BYTES).toString('base64');
}

/** Decodes a `whsec_` secret to its HMAC key. Errors never echo the secret. */
export function decodeWebhookSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new Error(`webhook secret must start with "${SECRET_PREFIX}"`);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length === 0 || !BASE64_PATTERN.test(encoded)) {
    throw new Error('webhook secret is not valid base64 after the prefix');
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw new Error(`webhook secret key must be ${MIN_KEY_BYTES}-${MAX_KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/**
 * Returns the `webhook-signature` header value: one `v1,<sig>` per secret, space separated, so receivers that
 * hold either the old or the new secret keep verifying during a rotation overlap.
 */
export function signWebhookPayload({ msgId, timestampSec, body, secrets }: WebhookSigningInput): string {
  if (!MSG_ID_PATTERN.test(msgId)) {
    throw new Error('webhook msgId must be 1-255 visible ASCII characters');
  }
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new Error('webhook timestampSec must be a non-negative integer (seconds since the epoch)');
  }
  if (secrets.length === 0) {
    throw new Error('at least one webhook secret is required to sign');
  }
  const signedContent = `${msgId}.${timestampSec}.${body}`;
  return secrets
    .map((secret) => {
      const signature = createHmac('sha256', decodeWebhookSecret(secret)).update(signedContent, 'utf8').digest('base64');
      return `v1,${signature}`;
    })
    .join(' ');
}

export function buildWebhookHeaders(input: WebhookSigningInput): WebhookHeaders {
  return {
    'webhook-id': input.msgId,
    'webhook-timestamp': String(input.timestampSec),
    'webhook-signature': signWebhookPayload(input),
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
  };
}
