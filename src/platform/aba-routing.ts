const ABA_WEIGHTS = [3, 7, 1, 3, 7, 1, 3, 7, 1] as const;

/**
 * The ABA routing transit number check digit: 9 digits whose 3-7-1 weighted sum,
 * 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9), is a multiple of 10. Which prefixes are real is the caller's business.
 */
export function abaChecksumValid(routing: string): boolean {
  if (typeof routing !== 'string' || !/^[0-9]{9}$/.test(routing)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    sum += (routing.charCodeAt(i) - 48) * (ABA_WEIGHTS[i] ?? 0);
  }
  return sum % 10 === 0;
}
