/**
 * The Luhn (mod 10) check digit test of ISO/IEC 7812. Digits only, at least two; length rules per card scheme are
 * the caller's business.
 */
export function luhnValid(number: string): boolean {
  if (typeof number !== 'string' || !/^[0-9]{2,}$/.test(number)) return false;
  let sum = 0;
  let double = false;
  for (let i = number.length - 1; i >= 0; i--) {
    let digit = number.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}
