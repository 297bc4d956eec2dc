import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../platform/logger.js';

/**
 * A `nimbuspay start` killed with SIGKILL cannot stop its PostgreSQL: the server lives on, orphaned, holding the
 * data directory, and the next start would fail on it. Such a leftover is recognised by its postmaster.pid naming
 * this data directory and by having lost its parent (re-parented to init). It is stopped with a fast shutdown
 * (committed transactions are safe, it runs crash-free recovery at most), then the cluster starts as usual.
 * A PostgreSQL whose parent is alive belongs to another running process: that is refused, not stopped.
 */
export async function stopLeftoverPostgres(clusterDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await readFile(pidFile, 'utf8')).split('\n');
  } catch {
    return; // no pid file: no server running on this directory
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || path.resolve(lines[1] ?? '') !== path.resolve(clusterDir) || !isAlive(pid)) return;
  const parent = await parentOf(pid);
  if (parent !== undefined && parent !== 1 && isAlive(parent)) {
    throw new Error(`PostgreSQL (pid ${pid}) is already running on ${clusterDir} for another process (pid ${parent}); is another \`nimbuspay start\` using this data directory?`);
  }
  logger.warn({ pid, dir: clusterDir }, 'stopping the PostgreSQL left behind by a killed nimbuspay start');
  process.kill(pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited > 30_000) throw new Error(`the leftover PostgreSQL (pid ${pid}) on ${clusterDir} did not stop within 30 s`);
    await sleep(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may contain spaces, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}
