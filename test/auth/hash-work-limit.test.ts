/**
 * The semaphore around memory-hard hashing: at most `concurrency` run, at most `maxQueued` wait in arrival order,
 * the rest are refused at once (never queued without end), and a failing job frees its slot.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { HashWorkBusyError, createHashWorkLimit } from '../../src/platform/crypto.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

it('runs 2 at once, queues 2 in order, refuses the 5th at once; finishing or failing hands the slot on', async () => {
  const limit = createHashWorkLimit({ concurrency: 2, maxQueued: 2 });
  const started: number[] = [];
  const jobs = [0, 1, 2, 3].map(() => deferred());
  const runs = jobs.map((job, i) => limit.run(async () => {
    started.push(i);
    await job.promise;
    return i;
  }));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(limit.load(), { running: 2, queued: 2 });

  await assert.rejects(limit.run(async () => 'never'), HashWorkBusyError);
  assert.deepEqual(limit.load(), { running: 2, queued: 2 }, 'a refusal takes no slot');

  jobs[1]!.reject(new Error('scrypt failed'));
  await assert.rejects(runs[1]!, /scrypt failed/);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2], 'the first waiter got the failed job\'s slot');
  assert.deepEqual(limit.load(), { running: 2, queued: 1 });

  jobs[0]!.resolve();
  assert.equal(await runs[0], 0);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2, 3]);
  jobs[2]!.resolve();
  jobs[3]!.resolve();
  assert.deepEqual(await Promise.all([runs[2], runs[3]]), [2, 3]);
  assert.deepEqual(limit.load(), { running: 0, queued: 0 });
  assert.equal(await limit.run(async () => 'free again'), 'free again');
});
