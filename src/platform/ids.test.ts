import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isId, newId } from './ids.js';

test('ids drawn across many refills of the random pool are well-formed, distinct and time-ordered', () => {
  const count = 3 * (4096 / 16) + 7; // crosses the pool's refill three times, and stops mid-pool
  const ids = Array.from({ length: count }, (_, i) => newId('payment', 1_700_000_000_000 + i));
  assert.equal(new Set(ids).size, count);
  for (const id of ids) assert.ok(isId('payment', id), id);
  assert.deepEqual([...ids].sort(), ids, 'a later millisecond sorts after an earlier one');
  // no two ids share their random part: bytes are never handed out twice
  assert.equal(new Set(ids.map((id) => id.slice(-16))).size, count);
});

test('every character of the random part occurs (uniform over the alphabet, not stuck on a subset)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) for (const c of newId('event').slice(-16)) seen.add(c);
  assert.equal(seen.size, 32);
});
