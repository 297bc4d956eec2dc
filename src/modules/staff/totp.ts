import * as OTPAuth from 'otpauth';

/** RFC 6238 as every authenticator app does it: SHA-1, 6 digits, 30-second steps. */
const PERIOD_SECONDS = 30;

function totp(base32Secret: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: 'NimbusPay',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_SECONDS,
    secret: OTPAuth.Secret.fromBase32(base32Secret),
  });
}

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

export function totpUri(base32Secret: string, email: string): string {
  return totp(base32Secret, email).toString();
}

/**
 * The time step a code belongs to, accepting one step of clock drift either way (RFC 6238 §5.2), or undefined.
 * The caller refuses a step it has already accepted, so a code seen over a shoulder cannot be replayed.
 */
export function matchTotpStep(base32Secret: string, code: string, now: Date): number | undefined {
  const t = totp(base32Secret, 'check');
  const delta = t.validate({ token: code, timestamp: now.getTime(), window: 1 });
  if (delta === null) return undefined;
  return t.counter({ timestamp: now.getTime() }) + delta;
}

/** The code an authenticator app shows at `at` (tests, and the CLI's self-check). */
export function totpCode(base32Secret: string, at: Date): string {
  return totp(base32Secret, 'code').generate({ timestamp: at.getTime() });
}
