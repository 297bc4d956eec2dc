import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS,
  nextRetryDelayMs,
  parseRetryAfter,
  webhookRetrySchedule,
} from './retry-schedule.js';

const HOUR_MS = 3_600_000;
const CAP_MS = 6 * HOUR_MS;
// Largest double below 1: the top of Math.random's range.
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe('DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS', () => {
  it('is 5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h, 24h', () => {
    assert.deepEqual(
      [...DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS],
      [5_000, 300_000, 1_800_000, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS, 14 * HOUR_MS, 20 * HOUR_MS, 24 * HOUR_MS],
    );
  });

  it('spans about three days and cannot be mutated', () => {
    const totalMs = DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS.reduce((sum, ms) => sum + ms, 0);
    assert.ok(totalMs > 3 * 24 * HOUR_MS && totalMs < 3.5 * 24 * HOUR_MS, `total ${totalMs}`);
    assert.throws(() => (DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS as number[]).push(1));
  });
});

describe('webhookRetrySchedule', () => {
  it('is the configured schedule when WEBHOOK_RETRY_SCHEDULE_MS is set, the default otherwise', () => {
    assert.deepEqual(webhookRetrySchedule({ webhookRetryScheduleMs: [50, 100] }), [50, 100]);
    assert.equal(webhookRetrySchedule({}), DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS);
    assert.equal(webhookRetrySchedule({ webhookRetryScheduleMs: undefined }), DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS);
  });
});

describe('nextRetryDelayMs', () => {
  const schedule = [1_000, 10_000, 100_000];

  it('uses scheduleMs[attemptsMade - 1] at the midpoint of the jitter', () => {
    assert.equal(nextRetryDelayMs({ attemptsMade: 1, scheduleMs: schedule, random: () => 0.5, maxRetryAfterMs: CAP_MS }), 1_000);
    assert.equal(nextRetryDelayMs({ attemptsMade: 2, scheduleMs: schedule, random: () => 0.5, maxRetryAfterMs: CAP_MS }), 10_000);
    assert.equal(nextRetryDelayMs({ attemptsMade: 3, scheduleMs: schedule, random: () => 0.5, maxRetryAfterMs: CAP_MS }), 100_000);
  });

  it('returns null once every scheduled retry has been used', () => {
    assert.equal(nextRetryDelayMs({ attemptsMade: 4, scheduleMs: schedule, random: () => 0.5, maxRetryAfterMs: CAP_MS }), null);
    assert.equal(nextRetryDelayMs({ attemptsMade: 99, scheduleMs: schedule, maxRetryAfterMs: CAP_MS }), null);
    assert.equal(nextRetryDelayMs({ attemptsMade: 1, scheduleMs: [], maxRetryAfterMs: CAP_MS }), null);
  });

  it('gives the default schedule ten attempts in total', () => {
    const delays: number[] = [];
    for (let attemptsMade = 1; ; attemptsMade++) {
      const delay = nextRetryDelayMs({
        attemptsMade,
        scheduleMs: DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS,
        random: () => 0.5,
        maxRetryAfterMs: CAP_MS,
      });
      if (delay === null) break;
      delays.push(delay);
    }
    assert.deepEqual(delays, [...DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS]);
    assert.equal(1 + delays.length, 10);
  });

  it('keeps jitter within ±20%, reaching both bounds', () => {
    const at = (r: number): number | null =>
      nextRetryDelayMs({ attemptsMade: 2, scheduleMs: schedule, random: () => r, maxRetryAfterMs: CAP_MS });
    assert.equal(at(0), 8_000);
    assert.equal(at(ALMOST_ONE), 12_000);
    assert.equal(at(0.25), 9_000);
    assert.equal(at(0.75), 11_000);
    for (let i = 0; i < 200; i++) {
      const delay = nextRetryDelayMs({ attemptsMade: 2, scheduleMs: schedule, maxRetryAfterMs: CAP_MS });
      assert.ok(delay !== null && delay >= 8_000 && delay <= 12_000, String(delay));
    }
  });

  it('returns whole milliseconds', () => {
    const delay = nextRetryDelayMs({ attemptsMade: 1, scheduleMs: [333], random: () => 0.123, maxRetryAfterMs: CAP_MS });
    assert.ok(Number.isInteger(delay));
  });

  it('lets Retry-After postpone the next attempt, capped at maxRetryAfterMs', () => {
    const base = { attemptsMade: 1, scheduleMs: schedule, random: () => 0.5, maxRetryAfterMs: 60_000 };
    assert.equal(nextRetryDelayMs({ ...base, retryAfterMs: 30_000 }), 30_000);
    assert.equal(nextRetryDelayMs({ ...base, retryAfterMs: 10 * HOUR_MS }), 60_000);
  });

  it('never lets Retry-After bring the next attempt forward', () => {
    const base = { attemptsMade: 3, scheduleMs: schedule, random: () => 0, maxRetryAfterMs: CAP_MS };
    assert.equal(nextRetryDelayMs({ ...base, retryAfterMs: 1_000 }), 80_000);
    assert.equal(nextRetryDelayMs({ ...base, retryAfterMs: 0 }), 80_000);
    assert.equal(nextRetryDelayMs({ ...base, retryAfterMs: Number.NaN }), 80_000);
  });

  it('does not grant extra attempts because of Retry-After', () => {
    assert.equal(
      nextRetryDelayMs({ attemptsMade: 4, scheduleMs: schedule, retryAfterMs: 5_000, maxRetryAfterMs: CAP_MS }),
      null,
    );
  });

  it('rejects nonsense input', () => {
    const base = { scheduleMs: schedule, maxRetryAfterMs: CAP_MS };
    assert.throws(() => nextRetryDelayMs({ ...base, attemptsMade: 0 }), /attemptsMade/);
    assert.throws(() => nextRetryDelayMs({ ...base, attemptsMade: 1.5 }), /attemptsMade/);
    assert.throws(() => nextRetryDelayMs({ ...base, attemptsMade: 1, maxRetryAfterMs: -1 }), /maxRetryAfterMs/);
    assert.throws(() => nextRetryDelayMs({ ...base, attemptsMade: 1, random: () => 1 }), /random/);
    assert.throws(() => nextRetryDelayMs({ ...base, attemptsMade: 1, random: () => -0.1 }), /random/);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-03-10T12:00:00.000Z');

  it('parses delta-seconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter(['30'], now), 30_000);
  });

  it('parses the three HTTP-date forms as UTC', () => {
    assert.equal(parseRetryAfter('Mon, 10 Mar 2025 12:01:30 GMT', now), 90_000);
    assert.equal(parseRetryAfter('Monday, 10-Mar-25 12:02:00 GMT', now), 120_000);
    assert.equal(parseRetryAfter('Mon Mar 10 13:00:00 2025', now), HOUR_MS);
    assert.equal(parseRetryAfter('Tue Mar  4 12:00:00 2025', now), 0);
  });

  it('turns a date in the past into 0', () => {
    assert.equal(parseRetryAfter('Sun, 09 Mar 2025 12:00:00 GMT', now), 0);
  });

  it('returns undefined for a missing or malformed header', () => {
    for (const value of [undefined, null, '', 'soon', '-5', '1.5', '1e3', '0x10', '1 2', 'Mon, 10 Mar 2025 12:01:30 PST',
      '2025-03-10T12:01:30Z', 'Mon, 31 Feb 2025 12:00:00 GMT', 'Mon, 10 Mar 2025 25:00:00 GMT']) {
      assert.equal(parseRetryAfter(value, now), undefined, String(value));
    }
    assert.equal(parseRetryAfter([], now), undefined);
    assert.equal(parseRetryAfter('9'.repeat(30), now), undefined);
  });
});
