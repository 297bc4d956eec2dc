import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';
import { freePort } from './net.js';
import { isRunning, stopChild } from './processes.js';

/**
 * The one way tests and benchmarks start `nimbuspay <command>` as its own OS process (as the roles run in
 * Kubernetes, or `npm start` runs everything): ports picked free, a readiness wait that fails at once with the
 * process's output if it died, a fresh start on fresh ports when a picked port was taken first, and every process
 * remembered so `stopAll` — which the caller registers in its `t.after`/`after` before the first start — stops it
 * whatever the test's outcome.
 *
 * The processes stay in the test runner's process group (test/run-tests.ts signals that group at its deadline and
 * reaps what is left in it), so a test file that dies before its hooks run still leaves nothing behind.
 */

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A start on a busy machine (tsx compiles on the fly, two cores shared with other test files): generous. */
export const READY_DEADLINE_MS = 90_000;

export type NimbuspayCommand = 'start' | 'api' | 'worker' | 'sandbox-processor';

export interface LaunchedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  running(): boolean;
  /** what the process wrote (stdout and stderr): its first and last 64 KB */
  output(): string;
  /** SIGKILL, and wait until the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (SIGKILL after `graceMs`, if given); resolves with the exit code once it exited. */
  stop(options?: { graceMs?: number }): Promise<number | null>;
}

/** Ready = `url` answers an accepted status (200 unless told) and the output contains `outputIncludes`. */
export interface Readiness {
  url: string;
  outputIncludes?: string;
  accept?: (status: number) => boolean;
}

export interface SpawnOptions {
  args?: string[];
  /** options for node itself, before `--import tsx` (e.g. `--cpu-prof`) */
  nodeArgs?: string[];
}

export interface StartSpec<P extends string> extends SpawnOptions {
  name: string;
  command: NimbuspayCommand;
  /**
   * The ports the process listens on: names to pick free (picked again for a new start if one was taken before the
   * process bound it), or fixed numbers (a restart on the same ports, or ports other processes were told already).
   */
  ports: readonly P[] | Readonly<Record<P, number>>;
  env(ports: Readonly<Record<P, number>>): Record<string, string | undefined>;
  ready(ports: Readonly<Record<P, number>>): Readiness;
  readyTimeoutMs?: number;
}

export interface StartedProcess<P extends string> extends LaunchedProcess {
  ports: Readonly<Record<P, number>>;
  readyAfterMs: number;
}

/** Starts on fresh ports when a picked port was taken: more than 2 retries in a row means something else is wrong. */
const START_ATTEMPTS = 3;

function tail(text: string): string {
  return text.length > 8_000 ? `…${text.slice(-8_000)}` : text;
}

/** The start of a process's output (a banner) and its end (why it failed), bounded for processes that run long. */
class OutputKeeper {
  private static readonly KEEP = 64 * 1024;
  private head = '';
  private rest = '';
  private skipped = 0;
  add(text: string): void {
    const room = OutputKeeper.KEEP - this.head.length;
    if (room > 0) {
      this.head += text.slice(0, room);
      text = text.slice(room);
    }
    this.rest += text;
    if (this.rest.length > 2 * OutputKeeper.KEEP) {
      this.skipped += this.rest.length - OutputKeeper.KEEP;
      this.rest = this.rest.slice(-OutputKeeper.KEEP);
    }
  }
  text(): string {
    return this.skipped > 0 ? `${this.head}\n[… ${this.skipped} characters …]\n${this.rest}` : this.head + this.rest;
  }
}

export class Launcher {
  private readonly launched = new Set<LaunchedProcess>();

  /** Spawns `nimbuspay <command>` (PATH is passed on; `env` is the whole rest of its environment). */
  spawn(name: string, command: NimbuspayCommand, env: Record<string, string | undefined>, options: SpawnOptions = {}): LaunchedProcess {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main/cli.ts', command, ...(options.args ?? [])], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, ...env },
    });
    const output = new OutputKeeper();
    const keep = (chunk: Buffer) => {
      output.add(chunk.toString());
      // TEST_LOG=1 shows every process's lines as they come (as test/helpers/platform.ts does for in-process roles)
      if (process.env.TEST_LOG === '1') process.stderr.write(chunk.toString().replace(/^(?=.)/gm, `[${name}] `));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const launched: LaunchedProcess = {
      name,
      child,
      exited,
      running: () => isRunning(child),
      output: () => output.text(),
      async kill9() {
        await stopChild(child, { signal: 'SIGKILL' });
      },
      async stop(stopOptions = {}) {
        if (stopOptions.graceMs === undefined) {
          if (isRunning(child)) child.kill('SIGTERM');
          await exited;
        } else {
          await stopChild(child, { signal: 'SIGTERM', graceMs: stopOptions.graceMs });
        }
        return child.exitCode;
      },
    };
    this.launched.add(launched);
    return launched;
  }

  /** Spawns and waits until ready; a start that lost a picked port (EADDRINUSE) starts again on fresh ports. */
  async start<P extends string>(spec: StartSpec<P>): Promise<StartedProcess<P>> {
    const pick = Array.isArray(spec.ports);
    for (let attempt = 1; ; attempt++) {
      const ports = pick ? await pickPorts(spec.ports as readonly P[]) : (spec.ports as Readonly<Record<P, number>>);
      const launched = this.spawn(spec.name, spec.command, spec.env(ports), spec);
      try {
        const readyAfterMs = await waitReady(launched, spec.ready(ports), spec.readyTimeoutMs);
        return { ...launched, ports, readyAfterMs };
      } catch (err) {
        // A port freePort handed out can be bound by another test file's socket before the child binds it.
        if (!pick || attempt >= START_ATTEMPTS || !launched.output().includes('EADDRINUSE')) throw err;
        await launched.kill9();
      }
    }
  }

  /** Stops every process this launcher started: `signal` (SIGTERM unless told), SIGKILL after `graceMs`. */
  async stopAll(options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
    await Promise.all([...this.launched].map((p) => stopChild(p.child, { signal: options.signal ?? 'SIGTERM', graceMs: options.graceMs ?? 20_000 })));
  }
}

async function pickPorts<P extends string>(names: readonly P[]): Promise<Record<P, number>> {
  const ports = {} as Record<P, number>;
  for (const name of names) ports[name] = await freePort();
  return ports;
}

/** Waits until the process is ready, failing at once (with its output) if it exited; resolves with the time it took. */
export async function waitReady(launched: LaunchedProcess, ready: Readiness, timeoutMs = READY_DEADLINE_MS): Promise<number> {
  const started = Date.now();
  const accept = ready.accept ?? ((status: number) => status === 200);
  await eventually(async () => {
    if (!launched.running()) throw new Error(`${launched.name} exited (${launched.child.exitCode ?? launched.child.signalCode})`);
    if (ready.outputIncludes !== undefined && !launched.output().includes(ready.outputIncludes)) return false;
    return fetch(ready.url, { signal: AbortSignal.timeout(5_000) }).then((r) => accept(r.status), () => false);
  }, { timeoutMs, intervalMs: 100, what: `${launched.name} ready at ${ready.url}` }).catch((err: Error) => {
    throw new Error(`${err.message}\n${launched.name} output:\n${tail(launched.output())}`);
  });
  return Date.now() - started;
}
