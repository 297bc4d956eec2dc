import { createDb, type DbHandle } from '../../../src/platform/db.js';
import { startWorker } from '../../../src/main/worker.js';
import { freePort, startTestPlatform, type TestPlatform } from '../../helpers/platform.js';
import { startTcpProxy } from '../../helpers/tcp-proxy.js';
import { scrape, type ScrapeTarget, type TargetScrape } from './exposition.js';

export const NAMESPACE = 'nimbuspay-development';

export interface WatchedPlatform {
  platform: TestPlatform;
  /** the api's and the worker's /metrics, labelled as the PodMonitors label them */
  targets: ScrapeTarget[];
  /** the worker's road to the processor: cut it and the reconciler cannot resolve anything */
  workerProcessorLink: { cut(): void; restore(): void };
  /** the worker goes away (its scrape target with it), the api keeps running */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The test platform laid out as in Kubernetes: the api serves /metrics on its own METRICS_PORT (as the api
 * Deployment does) and the worker runs beside it with its own connection pool and its health server, which serves
 * its /metrics (the worker Deployment leaves METRICS_PORT unset). The worker reaches the sandbox processor through
 * a TCP proxy the test can cut (with `processor: 'stripe'` it talks to the local Stripe server directly). `jobs`
 * are the PodMonitors' job names.
 */
export async function startWatchedPlatform(
  jobs: { api: string; worker: string },
  env: Record<string, string> = {},
  processor: 'sandbox' | 'stripe' = 'sandbox',
): Promise<WatchedPlatform> {
  const platform = await startTestPlatform({ env: { METRICS_PORT: String(await freePort()), ...env }, processor });
  const closers: Array<() => Promise<unknown>> = [() => platform.close()];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const sandbox = new URL(platform.sandboxUrl);
    const link = await startTcpProxy({ host: sandbox.hostname, port: Number(sandbox.port) });
    closers.push(() => link.close());
    const workerDb: DbHandle = createDb({ connectionString: platform.db.appUrl, max: 10, applicationName: 'nimbuspay-worker' });
    closers.push(() => workerDb.close());
    const { metricsPort: _apiOnly, ...shared } = platform.config;
    const worker = await startWorker({
      config: { ...shared, healthPort: await freePort(), sandboxProcessorUrl: `http://127.0.0.1:${link.port}` },
      logger: platform.logger,
      database: workerDb,
      healthServer: true,
    });
    let workerStopped: Promise<void> | undefined;
    const stopWorker = () => (workerStopped ??= worker.close());
    closers.push(stopWorker);
    const target = (job: string, url: string): ScrapeTarget => ({
      url,
      labels: { namespace: NAMESPACE, job, pod: `nimbuspay-${job}-0`, instance: new URL(url).host },
    });
    return {
      platform,
      targets: [target(jobs.api, platform.api.metricsUrl), target(jobs.worker, `${worker.healthUrl!}/metrics`)],
      workerProcessorLink: link,
      stopWorker,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** `rounds` scrapes of every target, `everyMs` apart: what Prometheus would have stored over that time. */
export async function recordScrapes(targets: ScrapeTarget[], rounds: number, everyMs: number): Promise<TargetScrape[]> {
  const out: TargetScrape[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, everyMs));
    out.push(...(await Promise.all(targets.map((t) => scrape(t)))));
  }
  return out;
}

/** The latest value of one series in a scrape (labels: a subset to match), or undefined. */
export function sampleValue(scrapes: TargetScrape[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const s of [...scrapes].reverse()) {
    const hit = s.exposition.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    if (hit) return hit.value;
  }
  return undefined;
}
