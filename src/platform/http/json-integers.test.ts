import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { findNonIntegerToken, nonIntegerNumberTokens } from './json-integers.js';

test('finds number tokens written with a fraction or an exponent, with their paths, and nothing inside strings', () => {
  const text = '{"a":1,"b":20.00,"c":{"d":[1,2e3,"3.5"],"e\\"k":-1.5E+2},"f":"20.00","g":[{"h":0.0}],"i":true,"j":null}';
  assert.deepEqual(nonIntegerNumberTokens(text), [
    { path: ['b'], token: '20.00' },
    { path: ['c', 'd', '1'], token: '2e3' },
    { path: ['c', 'e"k'], token: '-1.5E+2' },
    { path: ['g', '0', 'h'], token: '0.0' },
  ]);
  assert.deepEqual(nonIntegerNumberTokens('{"a":1,"b":[2,3],"c":"x.y 4e"}'), []);
  assert.deepEqual(nonIntegerNumberTokens(' [ 1 , 2.5 ] '), [{ path: ['1'], token: '2.5' }]);
});

test('only where the schema accepts integers alone: through objects, optionals, unions, records and arrays', () => {
  const schema = Type.Object({
    amount: Type.Integer(),
    ratio: Type.Number(),
    either: Type.Union([Type.Integer(), Type.Null()]),
    loose: Type.Union([Type.Integer(), Type.Number()]),
    nested: Type.Optional(Type.Object({ month: Type.Integer() })),
    list: Type.Array(Type.Integer()),
    counts: Type.Record(Type.String(), Type.Integer()),
  });
  const find = (json: string) => findNonIntegerToken(json, schema);
  assert.deepEqual(find('{"amount":20.00}'), { path: ['amount'], token: '20.00' });
  assert.equal(find('{"ratio":0.5,"loose":2.0}'), undefined);
  assert.deepEqual(find('{"either":1e2}'), { path: ['either'], token: '1e2' });
  assert.deepEqual(find('{"nested":{"month":12.0}}'), { path: ['nested', 'month'], token: '12.0' });
  assert.deepEqual(find('{"list":[1,2.0]}'), { path: ['list', '1'], token: '2.0' });
  assert.deepEqual(find('{"counts":{"x":3.0}}'), { path: ['counts', 'x'], token: '3.0' });
  assert.equal(find('{"unknown":3.0}'), undefined, 'an unknown field is the validator\'s to refuse');
  assert.equal(findNonIntegerToken('{"amount":20.00}', undefined), undefined);
});
