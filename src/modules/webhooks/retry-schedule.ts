const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Delays between delivery attempts, after the first attempt (which is immediate). Ten attempts in total spread
 * over ~3 days and 3 hours, so a receiver that is down for a weekend-length outage still gets its events.
 */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  5 * SECOND_MS,
  5 * MINUTE_MS,
  30 * MINUTE_MS,
  2 * HOUR_MS,
  5 * HOUR_MS,
  10 * HOUR_MS,
  14 * HOUR_MS,
  20 * HOUR_MS,
  24 * HOUR_MS,
]);

// ±20%: spreads the retries of many deliveries that failed together (receiver outage) so they do not all come
// back in one burst when the receiver recovers.
export const WEBHOOK_RETRY_JITTER_RATIO = 0.2;

/**
 * The schedule a deployment runs: WEBHOOK_RETRY_SCHEDULE_MS when set (parsed and checked by the configuration
 * loader, src/platform/config-descriptors.ts), otherwise the default above.
 */
export function webhookRetrySchedule(config: { readonly webhookRetryScheduleMs?: readonly number[] | undefined }): readonly number[] {
  return config.webhookRetryScheduleMs ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS;
}

export interface NextRetryDelayInput {
  /**
   * How many delivery attempts have been made so far, counting the first (immediate) attempt and the one that
   * just failed. After the first attempt fails, `attemptsMade` is 1 and the delay is `scheduleMs[0]`; with a
   * schedule of N delays there are at most N + 1 attempts, and `attemptsMade = N + 1` yields null.
   */
  attemptsMade: number;
  scheduleMs: readonly number[];
  /** Returns a number in [0, 1), like Math.random; injected so tests can pin the jitter. */
  random?: () => number;
  /** Parsed Retry-After of the failed attempt, if the receiver sent one (see parseRetryAfter). */
  retryAfterMs?: number | undefined;
  /** Upper bound on how far a receiver's Retry-After can push the next attempt out. */
  maxRetryAfterMs: number;
}

/**
 * Delay before the next attempt, or null when the schedule is exhausted and the delivery is to be marked failed.
 * A Retry-After (capped at `maxRetryAfterMs`) can only postpone the next attempt, never bring it forward, and it
 * never grants attempts beyond the schedule.
 */
export function nextRetryDelayMs({
  attemptsMade,
  scheduleMs,
  random = Math.random,
  retryAfterMs,
  maxRetryAfterMs,
}: NextRetryDelayInput): number | null {
  if (!Number.isSafeInteger(attemptsMade) || attemptsMade < 1) {
    throw new Error(`attemptsMade must be an integer >= 1 (got ${attemptsMade})`);
  }
  if (!Number.isFinite(maxRetryAfterMs) || maxRetryAfterMs < 0) {
    throw new Error(`maxRetryAfterMs must be a non-negative number (got ${maxRetryAfterMs})`);
  }
  const baseDelayMs = scheduleMs[attemptsMade - 1];
  if (baseDelayMs === undefined) {
    return null;
  }
  const r = random();
  if (!(r >= 0 && r < 1)) {
    throw new Error(`random() must return a number in [0, 1) (got ${r})`);
  }
  const jitterFactor = 1 - WEBHOOK_RETRY_JITTER_RATIO + 2 * WEBHOOK_RETRY_JITTER_RATIO * r;
  const jitteredDelayMs = Math.round(baseDelayMs * jitterFactor);
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) {
    return jitteredDelayMs;
  }
  return Math.max(jitteredDelayMs, Math.round(Math.min(retryAfterMs, maxRetryAfterMs)));
}

const WEEKDAYS_SHORT = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].join('|');
const WEEKDAYS_LONG = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'].join('|');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_ALT = MONTHS.join('|');
// The three HTTP-date forms of RFC 9110 §5.6.7. Date.parse is not used: it accepts almost anything (e.g. "1")
// and reads asctime dates as local time.
const IMF_FIXDATE = new RegExp(`^(?:${WEEKDAYS_SHORT}), (\\d{2}) (${MONTH_ALT}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const RFC850_DATE = new RegExp(`^(?:${WEEKDAYS_LONG}), (\\d{2})-(${MONTH_ALT})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const ASCTIME_DATE = new RegExp(`^(?:${WEEKDAYS_SHORT}) (${MONTH_ALT}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

function utcMs(year: number, month: string, day: string, hh: string, mm: string, ss: string): number | undefined {
  const monthIndex = MONTHS.indexOf(month);
  const [d, h, m, s] = [Number(day.trim()), Number(hh), Number(mm), Number(ss)];
  if (d < 1 || d > 31 || h > 23 || m > 59 || s > 60) {
    return undefined;
  }
  const ms = Date.UTC(year, monthIndex, d, h, m, Math.min(s, 59));
  // Rejects day overflow such as 31 Feb, which Date.UTC would silently roll into March.
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}

function parseHttpDateMs(value: string, now: Date): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match) {
    const [, day = '', month = '', year = '', hh = '', mm = '', ss = ''] = match;
    return utcMs(Number(year), month, day, hh, mm, ss);
  }
  match = RFC850_DATE.exec(value);
  if (match) {
    const [, day = '', month = '', yy = '', hh = '', mm = '', ss = ''] = match;
    // RFC 9110: a two-digit year more than 50 years in the future means the most recent past year with those digits.
    let year = 2000 + Number(yy);
    if (year > now.getUTCFullYear() + 50) {
      year -= 100;
    }
    return utcMs(year, month, day, hh, mm, ss);
  }
  match = ASCTIME_DATE.exec(value);
  if (match) {
    const [, month = '', day = '', hh = '', mm = '', ss = '', year = ''] = match;
    return utcMs(Number(year), month, day, hh, mm, ss);
  }
  return undefined;
}

/**
 * Parses a Retry-After header (delta-seconds or HTTP-date) into milliseconds from `now`. A date in the past
 * gives 0; anything malformed gives undefined, so a garbage header falls back to the normal schedule.
 */
export function parseRetryAfter(headerValue: string | readonly string[] | null | undefined, now: Date): number | undefined {
  const raw = typeof headerValue === 'string' ? headerValue : headerValue?.[0];
  if (raw === undefined) {
    return undefined;
  }
  const value = raw.trim();
  if (/^\d+$/.test(value)) {
    const ms = Number(value) * SECOND_MS;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  const dateMs = parseHttpDateMs(value, now);
  if (dateMs === undefined) {
    return undefined;
  }
  return Math.max(0, dateMs - now.getTime());
}
