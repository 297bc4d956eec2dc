/**
 * The value parsers of the configuration table (src/platform/config-descriptors.ts). An environment variable is a
 * string; each parser turns it into the typed value or says what was expected, and `format` writes a value back the
 * way an operator would type it (for defaults in the README). The loader builds the error message around `expected`,
 * so every message names the real variable and quotes the real input (or hides it, for a secret): `expected` itself
 * never repeats the input, so it can be shown for secrets too.
 */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

export interface Parser<T> {
  /** What a value must look like, for the README ("an integer from 0 to 65535"). */
  readonly expects: string;
  parse(raw: string): ParseResult<T>;
  format(value: T): string;
}

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const expected = <T>(text: string): ParseResult<T> => ({ ok: false, expected: text });

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  return max !== undefined ? ` of at most ${max}` : '';
}

function inRange(n: number, min: number | undefined, max: number | undefined): boolean {
  return (min === undefined || n >= min) && (max === undefined || n <= max);
}

/** Decimal digits only: `Number()` would also take "0x10", "1e3" and " ", which nobody means in a setting. */
export function integer(limits: { min?: number; max?: number } = {}): Parser<number> {
  const want = `an integer${range(limits.min, limits.max)}`;
  return {
    expects: want,
    parse(raw) {
      const n = /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
      return Number.isSafeInteger(n) && inRange(n, limits.min, limits.max) ? ok(n) : expected(want);
    },
    format: String,
  };
}

export function decimal(limits: { min?: number; max?: number } = {}): Parser<number> {
  const want = `a number${range(limits.min, limits.max)}`;
  return {
    expects: want,
    parse(raw) {
      const n = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw) ? Number(raw) : Number.NaN;
      return Number.isFinite(n) && inRange(n, limits.min, limits.max) ? ok(n) : expected(want);
    },
    format: String,
  };
}

export function boolean(): Parser<boolean> {
  return {
    expects: 'true or false',
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return ok(true);
      if (['false', '0', 'no'].includes(v)) return ok(false);
      return expected('true or false');
    },
    format: String,
  };
}

export function oneOf<const V extends string>(values: readonly V[]): Parser<V> {
  const want = `one of ${values.join(', ')}`;
  return {
    expects: want,
    parse: (raw) => ((values as readonly string[]).includes(raw) ? ok(raw as V) : expected(want)),
    format: String,
  };
}

export interface TextRules {
  minLength?: number;
  maxLength?: number;
  /** With `means`: what the pattern stands for, in the words of the error message. */
  pattern?: RegExp;
  means?: string;
  /** URLs are stored without trailing slashes, so `${url}/path` never doubles one. */
  trimTrailingSlashes?: boolean;
}

export function text(rules: TextRules = {}): Parser<string> {
  const parts = [
    rules.means ?? 'any text',
    rules.minLength !== undefined && rules.minLength > 1 ? `at least ${rules.minLength} characters` : undefined,
    rules.maxLength !== undefined ? `at most ${rules.maxLength} characters` : undefined,
  ].filter((p) => p !== undefined);
  const want = parts.join(', ');
  return {
    expects: want,
    parse(raw) {
      const value = rules.trimTrailingSlashes ? raw.replace(/\/+$/, '') : raw;
      const fits = value.length >= (rules.minLength ?? 1) && value.length <= (rules.maxLength ?? Infinity);
      return fits && (rules.pattern?.test(value) ?? true) ? ok(value) : expected(want);
    },
    format: (value) => value,
  };
}

export function httpUrl(): Parser<string> {
  return text({ pattern: /^https?:\/\/./, means: 'an http:// or https:// URL', trimTrailingSlashes: true });
}

/** A key given in base64, which must decode to exactly `bytes` bytes. */
export function base64Key(bytes: number): Parser<string> {
  const want = `${bytes} bytes, base64-encoded (e.g. \`openssl rand -base64 ${bytes}\`)`;
  return {
    expects: want,
    parse: (raw) => (Buffer.from(raw, 'base64').length === bytes ? ok(raw) : expected(want)),
    format: (value) => value,
  };
}

/** A list with at least one entry: code may read its first entry without asking. */
export type NonEmptyList<T> = readonly [T, ...T[]];

/**
 * Comma-separated entries, each parsed by `item`; spaces around an entry are ignored, an empty entry ("a,,b",
 * "a,") is an error rather than skipped, so a typo cannot silently shorten a list. The message names the entry.
 */
export function list<T>(item: Parser<T>, what: string): Parser<readonly T[]> {
  return {
    expects: `comma-separated ${what}`,
    parse(raw) {
      const values: T[] = [];
      const entries = raw.split(',').map((entry) => entry.trim());
      for (const [index, entry] of entries.entries()) {
        const parsed = item.parse(entry);
        if (!parsed.ok) return expected(`comma-separated ${what}; entry #${index + 1} is not ${parsed.expected}`);
        values.push(parsed.value);
      }
      return ok(Object.freeze(values));
    },
    format: (values) => values.map((v) => item.format(v)).join(','),
  };
}

/** Delays in milliseconds, e.g. a retry schedule "5000,300000,1800000". */
export function millisecondsList(): Parser<NonEmptyList<number>> {
  const delays = list(integer({ min: 1 }), 'positive integers (milliseconds)');
  return {
    ...delays,
    parse(raw) {
      const parsed = delays.parse(raw);
      if (!parsed.ok) return parsed;
      // split() gives at least one entry and list() refuses an empty one, so this holds; the type now says so
      const [first, ...rest] = parsed.value;
      if (first === undefined) return expected(`${delays.expects}; the list is empty`);
      return ok(Object.freeze<NonEmptyList<number>>([first, ...rest]));
    },
  };
}

/** `key=value` pairs, each value one of `values` (a value nobody knows is an error, not a silently powerless entry). */
export function pairs<const V extends string>(values: readonly V[]): Parser<Readonly<Record<string, V>>> {
  const value = oneOf(values);
  const want = `comma-separated name=value pairs, each value one of ${values.join(', ')}`;
  return {
    expects: want,
    parse(raw) {
      const map: Record<string, V> = {};
      for (const [index, pair] of raw.split(',').map((s) => s.trim()).entries()) {
        const eq = pair.lastIndexOf('=');
        const parsed = value.parse(pair.slice(eq + 1).trim());
        if (eq <= 0 || !parsed.ok) return expected(`${want}; pair #${index + 1} is not`);
        map[pair.slice(0, eq).trim()] = parsed.value;
      }
      return ok(Object.freeze(map));
    },
    format: (map) => Object.entries(map).map(([k, v]) => `${k}=${v}`).join(','),
  };
}
