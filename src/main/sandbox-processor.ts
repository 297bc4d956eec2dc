import type { AddressInfo } from 'node:net';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { buildSandboxProcessor } from '../sandbox-processor/index.js';

/**
 * Starts the sandbox processor role (development and staging only; configuration refuses it in production). It is
 * a separate HTTP service even when run in-process by `npm start`: NimbusPay reaches it only over the wire.
 */
export async function startSandboxProcessorRole(config: Config, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const app = await buildSandboxProcessor({
    logger: logger.child({ role: 'sandbox-processor' }),
    latencyMs: config.sandboxLatencyMs,
    errorRate: config.sandboxErrorRate,
    lostResponseDelayMs: config.sandboxLostResponseDelayMs,
    settlementDelayMs: config.sandboxSettlementDelayMs,
    lateReturnDelayMs: config.sandboxLateReturnDelayMs,
    ...(config.processorNotificationSecret
      ? { notificationUrl: config.sandboxNotificationUrl, notificationSecret: config.processorNotificationSecret }
      : {}),
  });
  await app.listen({ host: config.host, port: config.sandboxProcessorPort });
  const { port } = app.server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
