import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '../webhooks/helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** A role's start on a busy machine (tsx compiles on the fly, two cores shared with other test files): generous. */
export const ROLE_READY_DEADLINE_MS = 90_000;

/** One platform role (`nimbuspay api|worker|sandbox-processor`) running as its own OS process, as in Kubernetes. */
export interface RoleProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  running(): boolean;
  /** the last few KB the process wrote, for failure messages */
  output(): string;
  /** SIGKILL, and wait until the process is gone. */
  kill9(): Promise<void>;
}

/**
 * Every role process started through `ChildRoles` ends in `killAll`, which the test registers in `t.after` before it
 * starts the first one: no role outlives the test, whatever failed.
 */
export class ChildRoles {
  private readonly all = new Set<RoleProcess>();

  spawn(name: string, role: 'api' | 'worker' | 'sandbox-processor', env: Record<string, string | undefined>): RoleProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', role], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
      // TEST_LOG=1 shows every role's log lines as they come (as test/helpers/platform.ts does for in-process roles)
      if (process.env.TEST_LOG === '1') process.stderr.write(chunk.toString().replace(/^(?=.)/gm, `[${name}] `));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const running = () => child.exitCode === null && child.signalCode === null;
    const handle: RoleProcess = {
      name,
      child,
      exited,
      running,
      output: () => output,
      async kill9() {
        if (running()) child.kill('SIGKILL');
        await exited;
      },
    };
    this.all.add(handle);
    return handle;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.all].map((p) => p.kill9()));
  }
}

/** Waits until `url` answers 200, failing at once (with the role's output) if the process died meanwhile. */
export async function waitHttpOk(role: RoleProcess, url: string, deadlineMs = ROLE_READY_DEADLINE_MS): Promise<void> {
  await waitUntil(async () => {
    if (!role.running()) throw new Error(`${role.name} exited (${role.child.exitCode ?? role.child.signalCode}):\n${role.output()}`);
    return fetch(url, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status === 200, () => false);
  }, deadlineMs, `${role.name} answering 200 at ${url}`).catch((err: Error) => {
    throw new Error(`${err.message}\n${role.name} output:\n${role.output()}`);
  });
}

/** Waits until `url` stops answering 200 (a readiness probe noticing an outage). */
export async function waitHttpNotOk(url: string, what: string, deadlineMs = 30_000): Promise<void> {
  await waitUntil(
    () => fetch(url, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status !== 200, () => true),
    deadlineMs,
    what,
  );
}
