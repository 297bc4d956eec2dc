import { hostname } from 'node:os';
import { withCrossTenantTx, type Db } from '../../platform/db.js';
import type { Logger } from '../../platform/logger.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import { deleteHeartbeat, deleteRequestsBefore, deleteStaleHeartbeats, upsertHeartbeat } from './request-log.repository.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PURGE_BATCH_SIZE = 5_000;
const PURGE_IDLE_DELAY_MS = 60_000;
export const HEARTBEAT_INTERVAL_MS = 5_000;

/** Worker job: request log rows older than REQUEST_LOG_RETENTION_DAYS go, in batches (busy until none is left). */
export function requestLogPurgeJob(deps: { db: Db; retentionDays: number }): WorkerJob {
  return {
    name: 'request-log-purge',
    idleDelayMs: PURGE_IDLE_DELAY_MS,
    runOnce: () => purgeRequestLog(deps.db, deps.retentionDays),
  };
}

/** Deletes one batch of request log rows older than the retention; returns how many went (0 = done). */
export async function purgeRequestLog(db: Db, retentionDays: number, now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
  return withCrossTenantTx(db, (tx) => deleteRequestsBefore(tx, cutoff, PURGE_BATCH_SIZE));
}

/**
 * Worker job: this process says it is alive every 5 s (the health page reads it across replicas) and clears the
 * rows of workers gone for a day. `close` removes this worker's row, so a clean shutdown disappears at once.
 */
export function workerHeartbeatJob(deps: { db: Db; logger: Logger; intervalMs?: number }): WorkerJob & { workerId: string; close(): Promise<void> } {
  const host = hostname().slice(0, 200);
  const workerId = `${host}:${process.pid}`;
  const startedAt = new Date();
  return {
    name: 'worker-heartbeat',
    workerId,
    idleDelayMs: deps.intervalMs ?? HEARTBEAT_INTERVAL_MS,
    async runOnce() {
      await upsertHeartbeat(deps.db, { worker_id: workerId, hostname: host, started_at: startedAt });
      await deleteStaleHeartbeats(deps.db, DAY_MS);
      return 0;
    },
    async close() {
      await deleteHeartbeat(deps.db, workerId).catch((err: unknown) => deps.logger.warn({ err }, 'could not remove the worker heartbeat'));
    },
  };
}
