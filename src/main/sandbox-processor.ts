import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';

/** Starts the sandbox processor role (development and staging only). Filled in when the sandbox lands. */
export async function startSandboxProcessorRole(config: Config, _logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  return { url: config.sandboxProcessorUrl, async close() {} };
}
