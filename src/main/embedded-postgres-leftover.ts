import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../platform/logger.js';

/**
 * A `nimbuspay start` killed with SIGKILL cannot stop its PostgreSQL: the server lives on, orphaned, holding the
 * data directory, and the next start would fail on it. Such a leftover is recognised by its postmaster.pid naming
 * this data directory and by its parent no longer being a `nimbuspay start` (it was re-parented to init or to a
 * subreaper). It is stopped with a fast shutdown (committed transactions are safe), then the cluster starts as
 * usual. A PostgreSQL whose parent is a live `nimbuspay start` belongs to that process: refused, not stopped.
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
  if (!Number.isInteger(pid) || pid <= 0 || path.resolve(lines[1] ?? '') !== path.resolve(clusterDir) || !(await isRunning(pid))) return;
  const parent = await parentOf(pid);
  if (parent !== undefined && parent !== process.pid && (await isNimbuspayStart(parent))) {
    throw new Error(`PostgreSQL (pid ${pid}) is already running on ${clusterDir} for another nimbuspay process (pid ${parent}); is another \`nimbuspay start\` using this data directory?`);
  }
  logger.warn({ pid, dir: clusterDir }, 'stopping the PostgreSQL left behind by a killed nimbuspay start');
  process.kill(pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
  // Gone = no longer running (a zombie nobody reaped yet counts as gone) or its pid file removed.
  for (let waited = 0; (await isRunning(pid)) && existsSync(pidFile); waited += 100) {
    if (waited > 30_000) throw new Error(`the leftover PostgreSQL (pid ${pid}) on ${clusterDir} did not stop within 30 s`);
    await sleep(100);
  }
}

/** "pid (comm) state ppid …" from /proc; comm may contain spaces, so the fields are read after the last ')'. */
async function procStat(pid: number): Promise<{ state: string; ppid: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

async function isRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // An exited process that its (new) parent has not reaped yet is a zombie: it holds nothing any more.
  return (await procStat(pid))?.state !== 'Z';
}

async function parentOf(pid: number): Promise<number | undefined> {
  return (await procStat(pid))?.ppid;
}

/**
 * Whether a process is a running `nimbuspay start` (which owns its PostgreSQL). After a SIGKILL the orphan is
 * adopted by init or by a subreaper (systemd --user, tini -s, a CI agent): neither is one of ours.
 */
async function isNimbuspayStart(pid: number): Promise<boolean> {
  if (!(await isRunning(pid))) return false;
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return argv.some((arg) => /(^|\/)(cli\.(ts|js)|nimbuspay(\.mjs)?)$/.test(arg)) && argv.includes('start');
  } catch {
    return false;
  }
}
