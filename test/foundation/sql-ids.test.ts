/**
 * new_prefixed_id, the SQL twin of newId (src/platform/ids.ts) used for rows fanned out by one statement: the same
 * format (prefix, '_', 10 characters of the millisecond time, 16 random characters, Crockford base32), the same
 * time encoding as newId for the same millisecond, time-sortable, and every random position drawing from the
 * whole alphabet.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { isId, newId } from '../../src/platform/ids.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const COUNT = 20_000;

/** The millisecond time in an id's first ten body characters. */
function decodeTime(id: string): number {
  const body = id.slice(id.indexOf('_') + 1);
  let ms = 0;
  for (const ch of body.slice(0, 10)) ms = ms * 32 + ALPHABET.indexOf(ch);
  return ms;
}

describe('new_prefixed_id (ids generated in SQL)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let ids: string[];
  /** Per id, the database clock (ms) read just before and just after generating it, in the same row. */
  let brackets: Array<{ before: number; after: number }>;

  before(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.appUrl });
    await client.connect();
    // a row's expressions are evaluated in order, so each id is bracketed by two readings of the clock it reads
    const { rows } = await client.query<{ before: string; id: string; after: string }>(
      `SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS before,
              new_prefixed_id('whd') AS id,
              floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS after
       FROM generate_series(1, ${COUNT}) AS g(i) ORDER BY i`,
    );
    ids = rows.map((r) => r.id);
    brackets = rows.map((r) => ({ before: Number(r.before), after: Number(r.after) }));
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  it('has the format of newId: the prefix, 26 characters of the Crockford alphabet, all distinct', () => {
    assert.equal(ids.length, COUNT);
    for (const id of ids) {
      assert.match(id, /^whd_[0-9a-z]{26}$/);
      assert.ok(isId('webhookDelivery', id), `${id} uses only ${ALPHABET}`);
    }
    assert.equal(new Set(ids).size, COUNT);
  });

  it('encodes the current time as newId encodes the same millisecond', () => {
    let sameMillisecond = 0;
    ids.forEach((id, i) => {
      const ms = decodeTime(id);
      const { before, after } = brackets[i]!;
      assert.ok(ms >= before && ms <= after, `${id} decodes to ${ms}, not within ${before}..${after}`);
      if (before === after) {
        sameMillisecond++;
        assert.equal(id.slice(0, 14), newId('webhookDelivery', before).slice(0, 14), `time part of ${id}`);
      }
    });
    assert.ok(sameMillisecond > COUNT / 2, 'most ids are bracketed within one millisecond');
    assert.ok(Math.abs(decodeTime(ids[0]!) - Date.now()) < 60_000, 'the database clock is this machine\'s clock');
  });

  it('sorts by time: later ids never sort before earlier ones of an earlier millisecond', () => {
    const times = ids.map(decodeTime);
    assert.ok(new Set(times).size > 1, 'the ids span more than one millisecond');
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `id ${i} is not older than id ${i - 1}`);
    const bySortedId = [...ids].sort().map(decodeTime);
    for (let i = 1; i < bySortedId.length; i++) assert.ok(bySortedId[i]! >= bySortedId[i - 1]!, 'string order is time order');
  });

  it('draws every random position from the whole alphabet', () => {
    for (let position = 14; position < 30; position++) {
      const seen = new Set(ids.map((id) => id[position]));
      assert.equal(seen.size, 32, `position ${position - 4} of the body uses ${seen.size} of 32 characters`);
    }
  });
});
