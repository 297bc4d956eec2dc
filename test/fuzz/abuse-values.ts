import fc from 'fast-check';
import { Obj, Raw, deepArray, deepObject, type Json } from './json-values.js';

// The malformed values the fuzz test draws from. Big values are built once: a 1 MB string per draw would cost
// more than the request.

export const MB = 1024 * 1024;
const ONE_MB = 'x'.repeat(MB);
const NEAR_BODY_LIMIT = 'y'.repeat(60 * 1024);

/** Characters PostgreSQL cannot store in text (NUL) or Node cannot keep (lone UTF-16 surrogates). */
export const UNSTORABLE = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d'];

/** Other characters that tend to break parsers, logs or terminals. */
const AWKWARD = ['\u0001', '\u0007', '\b', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\u202e', '\ufeff', '\ufffe', '\uffff', '😀'];

const ascii = (max: number) => fc.string({ unit: 'grapheme-ascii', maxLength: max });

/** A short string with one unstorable or awkward character somewhere in it. */
export const controlString: fc.Arbitrary<string> = fc
  .tuple(ascii(8), fc.constantFrom(...UNSTORABLE, ...AWKWARD), ascii(8))
  .map(([a, c, b]) => `${a}${c}${b}`);

export const oddStrings = [
  '', ' ', '  x  ', 'NaN', 'Infinity', '-Infinity', '-0', '1e308', '0x10', '1_000', ' 1', '1 ', '١٢٣', '１２３', 'null',
  'true', "' OR '1'='1' --", '%', '_', '\\', '$1', '${jndi:ldap://127.0.0.1/a}', '<script>alert(1)</script>',
  '../../etc/passwd', '{{7*7}}', 'pay_00000000000000000000000000', 'ten_%', '*', '\\u0000',
];

export const hugeStrings = [ONE_MB, NEAR_BODY_LIMIT, 'k'.repeat(5000), '€'.repeat(20_000)];

/** Number tokens, written verbatim: several of them do not survive JSON.parse as written. */
export const numberTokens = [
  '1e308', '-1e308', '1e400', '-1e400', '-0', '0.0', '5e-324', '1E2', '0.5', '10.5', '-1', '0',
  '99999999', '100000000', '2147483648', '9007199254740993', '123456789012345678901234567890',
  '-9223372036854775809', '18446744073709551616', '1.7976931348623157e309',
];

export const stringValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: controlString },
  { weight: 2, arbitrary: fc.constantFrom(...oddStrings) },
  { weight: 1, arbitrary: fc.constantFrom(...hugeStrings) },
);

/** A value of the wrong type, out of bounds, unstorable, huge or deep; for any slot of a JSON body. */
export const badJson: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, [], new Obj([]), [1, 'a'], new Obj([['a', 1]]), ['\u0000']),
  fc.constantFrom(...numberTokens).map((t) => new Raw(t)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer().map((n) => n * 1_000_003),
  stringValue,
  fc.constantFrom<Json>(deepArray(10_000), deepObject(10_000), deepArray(100), deepObject(100)),
  fc.constantFrom<Json>(
    new Obj([['__proto__', new Obj([['polluted', true]])]]),
    new Obj([['constructor', new Obj([['prototype', new Obj([['polluted', true]])]])]]),
    Array.from({ length: 20_000 }, () => 0),
    new Obj(Array.from({ length: 3000 }, (_, i): [string, Json] => [`k${i}`, 'v'])),
  ),
);

/** Object keys that are not plain names. */
export const badKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', '', ' ', 'tenant_id',
    '$where', 'a.b', 'a[b]', '../x', 'k'.repeat(5000), 'k'.repeat(41), 'K',
  ),
  controlString,
);

// ------------------------------------------------------------------------------------------------------------
// Wire strings (query values, path segments): already percent-encoded as they go on the wire.

/** Percent-encodes UTF-8; a lone surrogate becomes its 3 raw bytes (ED A0 80 …), which no decoder accepts. */
export function percentEncode(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (/^[A-Za-z0-9\-._~]$/.test(ch)) out += ch;
    else if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    } else out += [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/** UTF-8 bytes of `value` as a latin1 string: raw non-ASCII in a request line or header. */
export const rawUtf8 = (value: string): string => Buffer.from(value, 'utf8').toString('latin1');

export const malformedPercent = ['%', '%G0', '%zz', '%C3%28', '%E0%80%80', '%uD800', '%FF', '%ED%A0%80', '%C0%AF', '%%', '%0', '%2'];

const dateAbuse = [
  '9999999999999', '99999999999999999999', '-62135596800', '8640000000001', '1e20', '-1', '1.5',
  '275760-09-13T00:00:00Z', '+275760-09-13T00:00:01Z', '2025-02-30T00:00:00Z', '2025-13-45T99:99:99Z',
  '0000-00-00T00:00:00Z', '9999-12-31T23:59:59.999999999+99:99', '2025-01-01T00:00:00.000000000001Z',
];

export const wireValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: controlString.map(percentEncode) },
  { weight: 2, arbitrary: fc.constantFrom(...oddStrings).map(percentEncode) },
  { weight: 2, arbitrary: fc.constantFrom(...numberTokens, 'NaN', 'Infinity', '', '+1', ' 5', '5abc') .map(percentEncode) },
  { weight: 2, arbitrary: fc.constantFrom(...dateAbuse).map(percentEncode) },
  { weight: 2, arbitrary: fc.constantFrom(...malformedPercent) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(10_000), 'x'.repeat(100), rawUtf8('ü'), rawUtf8('😀'), '+', 'a+b', '%2B', '%25', '%5C') },
);

/** Raw JSON bodies that are malformed, hostile, huge or deep; Buffers because some hold invalid UTF-8. */
export const rawBodies: Buffer[] = [
  '', ' ', '{', '}', '[', '{"a":}', '{"a" 1}', "{'a':1}", '{a:1}', '{"a":1,}', '[1,]', 'null', 'true', '0', '"x"', '[]',
  '{}{}', '{} x', '\ufeff{}', '/* c */{}', '{"a":NaN}', '{"a":Infinity}', '{"a":-}', '{"a":01}', '{"a":1.}', '{"a":.5}',
  '{"a":"\\x41"}', '{"a":"\\u00"}', '{"a":"\\uD800"}', '{"\\u0000":1}', '{"a":"\u0000"}', '{"a":"\u001f"}',
  '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}',
  `{${Array.from({ length: 5000 }, () => '"a":1').join(',')}}`,
].map((s) => Buffer.from(s, 'utf8')).concat([
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]),
  Buffer.from(deepArray(10_000).text),
  Buffer.from(deepObject(10_000).text),
  Buffer.from(`{"a":"${ONE_MB}"}`),
  Buffer.from(' '.repeat(MB)),
  Buffer.from(`[${Array.from({ length: 30_000 }, () => '0').join(',')}]`),
]);

export const contentTypes: string[] = [
  'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/json; charset=utf-16', 'application/json; charset=utf-16le', 'application/json; charset=iso-8859-1',
  'application/json; charset="utf-8"', 'APPLICATION/JSON', 'application/json, text/plain', 'application/jsonp',
  'application/json-patch+json', 'application/vnd.api+json', '*/*', 'application/json; charset=utf-8; charset=utf-16',
  'application/json; boundary=x', `application/${'j'.repeat(5000)}`, `application/json;${' '.repeat(1000)}`,
  'application/xml', 'application/json\t', '', 'application/json; charset=nonsense', 'application/ json',
];
