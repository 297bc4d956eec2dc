import { inspect } from 'node:util';

/**
 * The one polling helper of the tests: waits on state (a row, an HTTP answer, a process), never on a fixed sleep, so a
 * busy machine makes a test slower but not red.
 */

const NOT_YET = Symbol('not yet');

/** "Not yet" carrying what the probe saw, so a timeout can say it (`eventually` keeps polling). */
export interface NotYet {
  readonly [NOT_YET]: true;
  readonly seen: unknown;
}

export function notYet(seen: unknown): NotYet {
  return { [NOT_YET]: true, seen };
}

function isNotYet(value: unknown): value is NotYet {
  return typeof value === 'object' && value !== null && NOT_YET in value;
}

export interface EventuallyOptions {
  /** 10 s unless told. */
  timeoutMs?: number;
  /** pause between two probes; 20 ms unless told */
  intervalMs?: number;
  /** what is awaited, for the timeout message */
  what?: string;
  /**
   * A probe that throws ends the wait with its error (it throws when the condition can no longer be met, e.g. the
   * process it waits on exited). With `ignoreErrors` an error is "not yet" instead (a server not listening yet), and
   * the last one is reported if time runs out.
   */
  ignoreErrors?: boolean;
}

type Probe<T> = () => Promise<T | undefined | false | NotYet> | T | undefined | false | NotYet;

function describe(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Infinity, maxStringLength: 500 }).slice(0, 1_000);
}

/**
 * Polls `probe` until it answers something other than `undefined`, `false` or `notYet(…)`, and returns that. After
 * `timeoutMs` it fails with a message naming what was awaited and the last value (or error) the probe gave.
 */
export async function eventually<T>(probe: Probe<T>, options: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20, what = 'condition', ignoreErrors = false } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { value: unknown } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && !isNotYet(value)) return value;
      last = { value: isNotYet(value) ? value.seen : value };
    } catch (error) {
      if (!ignoreErrors) throw error;
      last = { error };
    }
    if (Date.now() > deadline) {
      const seen = last === undefined ? 'nothing' : 'error' in last ? `error ${describe(last.error)}` : describe(last.value);
      throw new Error(`${what} not met within ${timeoutMs} ms; last seen: ${seen}`, last && 'error' in last ? { cause: last.error } : {});
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
