import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { HttpApp } from '../platform/http/app.js';
import type { WorkerJob } from '../platform/worker-loop.js';

export interface ModuleDeps {
  config: Config;
  logger: Logger;
  db: Db;
  metrics: Metrics;
}

/** Long-lived objects the modules create (processor adapter, key cache…) that the process must close. */
export interface ModuleServices {
  close(): Promise<void>;
}

/** Registers every module's routes on the API app. Modules are added here as they land. */
export async function registerModules(_app: HttpApp, _deps: ModuleDeps): Promise<ModuleServices> {
  return { async close() {} };
}

/** Every background job of the worker role. */
export function workerJobs(_deps: ModuleDeps): { jobs: WorkerJob[]; close(): Promise<void> } {
  return { jobs: [], async close() {} };
}
