/**
 * The per-process work limits of the token endpoint (legacy scrypt hashing, FIFO; admission, LIFO): at most
 * `concurrency` run, at most `maxQueued` wait, the excess is refused at once and never queued without end, a
 * failing job frees its slot, and a LIFO waiter past its maximum wait is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkLimitBusyError, createWorkLimit } from '../../src/platform/work-limit.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

/** `n` jobs that each wait for their own deferred; `started` records the order they began in. */
function jobs(limit: ReturnType<typeof createWorkLimit>, n: number) {
  const started: number[] = [];
  const gates = Array.from({ length: n }, () => deferred());
  const runs = gates.map((gate, i) => limit.run(async () => {
    started.push(i);
    await gate.promise;
    return i;
  }));
  for (const r of runs) r.catch(() => undefined); // each is awaited or asserted below; none may go unhandled meanwhile
  return { started, gates, runs };
}

describe('fifo', () => {
  it('runs 2 at once, queues 2 in arrival order, refuses the 5th at once; finishing or failing hands the slot on', async () => {
    const limit = createWorkLimit({ concurrency: 2, maxQueued: 2, order: 'fifo' });
    const { started, gates, runs } = jobs(limit, 4);
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(limit.load(), { running: 2, queued: 2 });

    await assert.rejects(limit.run(async () => 'never'), WorkLimitBusyError);
    assert.deepEqual(limit.load(), { running: 2, queued: 2 }, 'a refusal takes no slot');

    gates[1]!.reject(new Error('scrypt failed'));
    await assert.rejects(runs[1]!, /scrypt failed/);
    await tick();
    assert.deepEqual(started, [0, 1, 2], "the first waiter got the failed job's slot");
    assert.deepEqual(limit.load(), { running: 2, queued: 1 });

    gates[0]!.resolve();
    assert.equal(await runs[0], 0);
    await tick();
    assert.deepEqual(started, [0, 1, 2, 3]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    assert.deepEqual(await Promise.all([runs[2], runs[3]]), [2, 3]);
    assert.deepEqual(limit.load(), { running: 0, queued: 0 });
    assert.equal(await limit.run(async () => 'free again'), 'free again');
  });
});

describe('lifo', () => {
  it('the newest waiter gets the next slot; a full queue refuses its oldest waiter, not the newcomer', async () => {
    const limit = createWorkLimit({ concurrency: 1, maxQueued: 2, order: 'lifo' });
    const { started, gates, runs } = jobs(limit, 4);
    await tick();
    assert.deepEqual(started, [0]);
    await assert.rejects(runs[1]!, WorkLimitBusyError, 'job 1, the oldest waiter, gave way to job 3');
    assert.deepEqual(limit.load(), { running: 1, queued: 2 });

    gates[0]!.resolve();
    assert.equal(await runs[0], 0);
    await tick();
    assert.deepEqual(started, [0, 3], 'the newest waiter first');
    gates[3]!.resolve();
    assert.equal(await runs[3], 3);
    await tick();
    assert.deepEqual(started, [0, 3, 2]);
    gates[2]!.resolve();
    assert.equal(await runs[2], 2);
    assert.deepEqual(limit.load(), { running: 0, queued: 0 });
  });

  it('a waiter not started within maxWaitMs is refused and leaves the queue', async () => {
    const limit = createWorkLimit({ concurrency: 1, maxQueued: 4, order: 'lifo', maxWaitMs: 20 });
    const { started, gates, runs } = jobs(limit, 2);
    await assert.rejects(runs[1]!, WorkLimitBusyError);
    assert.deepEqual(limit.load(), { running: 1, queued: 0 });
    gates[0]!.resolve();
    assert.equal(await runs[0], 0);
    assert.deepEqual(started, [0]);
    assert.deepEqual(limit.load(), { running: 0, queued: 0 });
  });
});
