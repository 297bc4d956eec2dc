import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually } from './eventually.js';

/** Still running: neither exited nor killed by a signal. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Stops a child whatever state it is in: `signal` first (SIGTERM lets `nimbuspay start` stop its PostgreSQL), SIGKILL
 * if it has not exited after `graceMs`. Resolves once it is gone; safe to call on a child that already exited.
 */
export async function stopChild(child: ChildProcess, options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(options.signal ?? 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace over'>((resolve) => {
    timer = setTimeout(() => resolve('grace over'), options.graceMs ?? 20_000);
  });
  if ((await Promise.race([exited, graceOver])) === 'grace over' && isRunning(child)) {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/** A process that exited but was not reaped yet (a zombie, its parent being init here) is not alive. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state …": comm may contain spaces, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pid in `<dataDir>/pg/postmaster.pid` (a `nimbuspay start` data directory) if it is a live postgres on that directory. */
export function runningPostmaster(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  return cmdline.includes('postgres') && cmdline.includes(dataDir) ? pid : undefined;
}

/** postgres processes of a data directory: postmasters naming it, and the backends of the given postmasters. */
export function postgresProcesses(dataDir: string, postmasters: ReadonlySet<number> = new Set()): Array<{ pid: number; line: string }> {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out.split('\n').flatMap((line) => {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    const command = args.join(' ');
    if (!command.startsWith('postgres') && !command.includes('/postgres ')) return [];
    return command.includes(dataDir) || postmasters.has(Number(ppid)) ? [{ pid: Number(pid), line: line.trim() }] : [];
  });
}

/**
 * Stops a PostgreSQL left running on a `nimbuspay start` data directory (its `start` was SIGKILLed, so nothing else
 * will): fast shutdown as the product does, then harder if it will not go.
 */
export async function stopPostgresOn(dataDir: string): Promise<void> {
  const pid = runningPostmaster(dataDir);
  if (pid === undefined) return;
  for (const [signal, graceMs] of [['SIGINT', 30_000], ['SIGQUIT', 10_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const gone = await eventually(() => !isAlive(pid), { timeoutMs: graceMs, what: `postgres ${pid} stopping` }).then(() => true, () => false);
    if (gone) return;
  }
}
