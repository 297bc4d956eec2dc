import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the processor's signature on every pushed rail notification. */
export const PROCESSOR_SIGNATURE_HEADER = 'processor-signature';

/** Default accepted clock skew / replay window, in seconds. */
export const DEFAULT_SIGNATURE_TOLERANCE_SEC = 300;

export type NotificationSignatureFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'timestamp_out_of_tolerance'
  | 'signature_mismatch';

export type NotificationVerification = { ok: true; timestampSec: number } | { ok: false; reason: NotificationSignatureFailure };

export interface VerifyProcessorNotificationInput {
  secret: string;
  /** The body exactly as received on the wire: re-serialized JSON would not match the signature. */
  rawBody: string | Uint8Array;
  /** Value of the `Processor-Signature` header (undefined when absent). */
  header: string | undefined;
  nowSec: number;
  toleranceSec?: number;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

function computeSignature(secret: string, timestampSec: number, rawBody: string | Uint8Array): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestampSec}.`);
  hmac.update(rawBody);
  return hmac.digest();
}

/**
 * Produces the `Processor-Signature` header value `t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * The timestamp is part of the signed payload so a captured notification cannot be replayed later with a fresh `t`.
 */
export function signProcessorNotification(secret: string, rawBody: string | Uint8Array, nowSec: number): string {
  const t = Math.floor(nowSec);
  return `t=${t},v1=${computeSignature(secret, t, rawBody).toString('hex')}`;
}

/**
 * Verifies a pushed notification. Several `v1=` entries are accepted (a processor rotating its secret signs with
 * both), and a timestamp outside `toleranceSec` is refused even when the signature matches, to bound replays.
 */
export function verifyProcessorNotification(input: VerifyProcessorNotificationInput): NotificationVerification {
  const toleranceSec = input.toleranceSec ?? DEFAULT_SIGNATURE_TOLERANCE_SEC;
  if (input.header === undefined || input.header.trim() === '') return { ok: false, reason: 'missing_header' };

  let timestampSec: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of input.header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'malformed_header' };
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') {
      if (timestampSec !== undefined || !/^\d{1,12}$/.test(value)) return { ok: false, reason: 'malformed_header' };
      timestampSec = Number(value);
    } else if (name === 'v1') {
      if (!HEX_SHA256.test(value)) return { ok: false, reason: 'malformed_header' };
      candidates.push(Buffer.from(value, 'hex'));
    }
    // Unknown schemes (a future v2) are ignored, as Stripe-style verifiers do, so the sender can add them first.
  }
  if (timestampSec === undefined || candidates.length === 0) return { ok: false, reason: 'malformed_header' };
  if (Math.abs(input.nowSec - timestampSec) > toleranceSec) return { ok: false, reason: 'timestamp_out_of_tolerance' };

  const expected = computeSignature(input.secret, timestampSec, input.rawBody);
  let matched = false;
  for (const candidate of candidates) {
    // No early exit: every candidate is compared so timing does not reveal which one matched.
    if (timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched ? { ok: true, timestampSec } : { ok: false, reason: 'signature_mismatch' };
}
