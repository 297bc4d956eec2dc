import { Launcher, root, type StartedProcess } from './launcher.js';
import { stopPostgresOn } from './processes.js';

export { root };

export type StartPort = 'api' | 'sandbox' | 'health' | 'pg';
export type StartPorts = Readonly<Record<StartPort, number>>;

export interface StartedPlatform extends StartedProcess<StartPort> {
  url: string;
  /** the processor `start` runs (the sandbox, or the local Stripe server with `--processor=stripe-local`) */
  processorUrl: string;
}

export interface StartOptions {
  dataDir: string;
  configDir: string;
  adminSecret: string;
  /** the ports of an earlier start (a restart on the same ports); fresh ones otherwise */
  ports?: StartPorts;
  env?: Record<string, string>;
  args?: string[];
}

/**
 * `nimbuspay start` as `npm start` runs it (minus the `prestart` console build, which the tests do not need), each
 * with its own data directory, ports and CLI profile directory (NIMBUSPAY_CONFIG_DIR: a start writes the "local"
 * profile, and a test never writes to $HOME). Every start is remembered; `stopStarted`, which the test registers in
 * its `t.after`, stops whichever still runs.
 */
export function startCommandLauncher() {
  const launcher = new Launcher();
  async function startPlatform(options: StartOptions): Promise<StartedPlatform> {
    const started = await launcher.start<StartPort>({
      name: 'nimbuspay start',
      command: 'start',
      args: options.args ?? [],
      ports: options.ports ?? ['api', 'sandbox', 'health', 'pg'],
      env: (ports) => ({
        NIMBUSPAY_DATA_DIR: options.dataDir,
        NIMBUSPAY_CONFIG_DIR: options.configDir,
        PORT: String(ports.api),
        SANDBOX_PROCESSOR_PORT: String(ports.sandbox),
        HEALTH_PORT: String(ports.health),
        NIMBUSPAY_PG_PORT: String(ports.pg),
        NIMBUSPAY_ADMIN_CLIENT_SECRET: options.adminSecret,
        LOG_LEVEL: 'warn',
        ...options.env,
      }),
      // ready = the banner (printed after the development bootstrap) is out and /readyz answers 200
      ready: (ports) => ({ url: `http://127.0.0.1:${ports.api}/readyz`, outputIncludes: 'Ctrl-C stops everything' }),
    });
    return { ...started, url: `http://127.0.0.1:${started.ports.api}`, processorUrl: `http://127.0.0.1:${started.ports.sandbox}` };
  }
  /**
   * SIGTERM (or `signal`) lets a start stop its PostgreSQL; one that does not exit in time is SIGKILLed, and the
   * PostgreSQL it then leaves on the data directory is stopped here (nothing else would: it would outlive `npm test`).
   */
  async function stopStarted(dataDir: string, options: { signal?: NodeJS.Signals } = {}): Promise<void> {
    await launcher.stopAll({ signal: options.signal ?? 'SIGTERM', graceMs: 20_000 });
    await stopPostgresOn(dataDir);
  }
  return { startPlatform, stopStarted };
}
