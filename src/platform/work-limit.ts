/** Refused at once: too much of this work is already running or waiting in this process. */
export class WorkLimitBusyError extends Error {
  constructor() {
    super('work limit reached');
    this.name = 'WorkLimitBusyError';
  }
}

export interface WorkLimit {
  /** Runs `work` in a free slot, after waiting for one if need be; throws WorkLimitBusyError when refused. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** running and waiting right now */
  load(): { running: number; queued: number };
}

export interface WorkLimitOptions {
  concurrency: number;
  maxQueued: number;
  /**
   * fifo: a full queue refuses the newcomer. lifo: the newest waiter gets the next free slot and a full queue
   * refuses its oldest waiter instead. Under overload LIFO keeps serving whoever just arrived (a client's first
   * try) quickly, while a flood's backlog ages out at the bottom; without overload the queue is empty and the
   * order does not matter.
   */
  order: 'fifo' | 'lifo';
  /** a waiter not started within this is refused (lifo needs it: the bottom of the stack may never be reached) */
  maxWaitMs?: number;
}

interface Waiter {
  start(): void;
  refuse(): void;
  timer?: NodeJS.Timeout;
}

/** A per-process semaphore with a bounded queue: excess work is refused fast instead of piling up without end. */
export function createWorkLimit(options: WorkLimitOptions): WorkLimit {
  let running = 0;
  const waiting: Waiter[] = [];
  const take = (): Waiter | undefined => (options.order === 'lifo' ? waiting.pop() : waiting.shift());
  const wait = () =>
    new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { start: resolve, refuse: () => reject(new WorkLimitBusyError()) };
      if (options.maxWaitMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const i = waiting.indexOf(waiter);
          if (i >= 0) {
            waiting.splice(i, 1);
            waiter.refuse();
          }
        }, options.maxWaitMs);
      }
      waiting.push(waiter);
    });
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (running < options.concurrency) {
        running++;
      } else {
        if (waiting.length >= options.maxQueued) {
          const oldest = options.order === 'fifo' ? undefined : waiting.shift();
          if (!oldest) throw new WorkLimitBusyError();
          clearTimeout(oldest.timer);
          oldest.refuse();
        }
        // the slot is handed over by the finisher, so `running` stays counted and no late caller can jump the queue
        await wait();
      }
      try {
        return await work();
      } finally {
        const next = take();
        if (next) {
          clearTimeout(next.timer);
          next.start();
        } else {
          running--;
        }
      }
    },
    load: () => ({ running, queued: waiting.length }),
  };
}
