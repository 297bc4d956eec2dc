import { setTimeout as sleep } from 'node:timers/promises';
import { setMaxListeners } from 'node:events';
import type { Logger } from './logger.js';

/** One recurring job of the worker. `runOnce` returns how many items it handled; 0 means "idle, wait". */
export interface WorkerJob {
  name: string;
  idleDelayMs: number;
  /** `signal` aborts when the worker stops: a job that waits inside an iteration stops waiting then. */
  runOnce(signal?: AbortSignal): Promise<number>;
}

export interface RunningJobs {
  stop(): Promise<void>;
}

/**
 * Runs each job in its own loop: busy loops go again at once, idle ones sleep. A failing iteration is logged and
 * retried after the idle delay; it never stops the worker. `stop` lets the current iteration finish.
 */
export function runWorkerJobs(jobs: readonly WorkerJob[], logger: Logger): RunningJobs {
  const abort = new AbortController();
  // every idle job sleeps on this one signal: more than Node's default of 10 listeners is expected, not a leak
  setMaxListeners(jobs.length + 1, abort.signal);
  const loops = jobs.map(async (job) => {
    const log = logger.child({ job: job.name });
    while (!abort.signal.aborted) {
      let handled = 0;
      try {
        handled = await job.runOnce(abort.signal);
      } catch (err) {
        log.error({ err }, 'job iteration failed');
      }
      if (handled === 0 && !abort.signal.aborted) {
        await sleep(job.idleDelayMs, undefined, { signal: abort.signal }).catch(() => {});
      }
    }
  });
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}
