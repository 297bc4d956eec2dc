import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { ModuleServices } from './modules.js';

export interface BootstrapReport {
  lines: string[];
}

/** Development conveniences at start: the platform admin client and a demo tenant (filled in by the auth module). */
export async function runDevelopmentBootstrap(_deps: { config: Config; logger: Logger; db: Db; services: ModuleServices }): Promise<BootstrapReport> {
  return { lines: [] };
}
