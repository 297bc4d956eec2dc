import type { ErrorOutcome } from './processor-port.js';

/** JSON numbers (and the integers processors parse) are exact only up to 2^53: a larger amount is refused, never rounded. */
export function toWireAmount(amountMinor: bigint): number | undefined {
  if (amountMinor <= 0n || amountMinor > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(amountMinor);
}

export function invalidAmount(amountMinor: bigint): ErrorOutcome {
  return {
    kind: 'error',
    code: 'processing_error',
    message: `Amount ${amountMinor} is outside the processor's range (1..${Number.MAX_SAFE_INTEGER}); not sent.`,
    retryable: false,
    sent: false,
  };
}
