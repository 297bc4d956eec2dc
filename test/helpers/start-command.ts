import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';
import { isRunning, stopChild, stopPostgresOn } from './processes.js';
import { waitUntil } from '../webhooks/helpers.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface StartPorts { api: number; sandbox: number; health: number; pg: number }

export async function freeStartPorts(): Promise<StartPorts> {
  return { api: await freePort(), sandbox: await freePort(), health: await freePort(), pg: await freePort() };
}

export interface StartedPlatform {
  url: string;
  readyAfterMs: number;
  output(): string;
  /** SIGTERM, and the exit code once it exited; a start that hangs on shutdown is the test's timeout's to catch. */
  stop(): Promise<number | null>;
}

/**
 * `nimbuspay start` as `npm start` runs it (minus the `prestart` console build, which the tests do not need), each
 * with its own data directory, ports and CLI profile directory (NIMBUSPAY_CONFIG_DIR: a start writes the "local"
 * profile, and a test never writes to $HOME). Every child is remembered; `stopStarted` stops whichever still runs.
 */
export function startCommandLauncher() {
  const spawned = new Set<ChildProcess>();
  async function startPlatform(options: { dataDir: string; configDir: string; ports: StartPorts; adminSecret: string; env?: Record<string, string> }): Promise<StartedPlatform> {
    const { dataDir, ports } = options;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'start'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        NIMBUSPAY_DATA_DIR: dataDir,
        NIMBUSPAY_CONFIG_DIR: options.configDir,
        PORT: String(ports.api),
        SANDBOX_PROCESSOR_PORT: String(ports.sandbox),
        HEALTH_PORT: String(ports.health),
        NIMBUSPAY_PG_PORT: String(ports.pg),
        NIMBUSPAY_ADMIN_CLIENT_SECRET: options.adminSecret,
        LOG_LEVEL: 'warn',
        ...options.env,
      },
    });
    spawned.add(child);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const url = `http://127.0.0.1:${ports.api}`;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    // ready = /readyz answers 200 and the banner (printed after the development bootstrap) is out
    await waitUntil(async () => {
      if (!isRunning(child)) throw new Error(`start exited (${child.exitCode ?? child.signalCode}): ${output}`);
      if (!output.includes('Ctrl-C stops everything')) return false;
      return fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status === 200, () => false);
    }, 90_000, 'start ready').catch((err: Error) => {
      throw new Error(`${err.message}: ${output}`);
    });
    return {
      url,
      readyAfterMs: Date.now() - started,
      output: () => output,
      async stop(): Promise<number | null> {
        if (isRunning(child)) child.kill('SIGTERM');
        return exited;
      },
    };
  }
  /**
   * SIGTERM lets a start stop its PostgreSQL; one that does not exit in time is SIGKILLed, and the PostgreSQL it then
   * leaves on the data directory is stopped here (nothing else would: it would outlive `npm test`).
   */
  async function stopStarted(dataDir: string): Promise<void> {
    await Promise.all([...spawned].map((child) => stopChild(child, { signal: 'SIGTERM', graceMs: 20_000 })));
    await stopPostgresOn(dataDir);
  }
  return { startPlatform, stopStarted };
}
