import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../helpers/net.js';

import type { ScrapeTarget } from './exposition.js';
import { eventually } from '../../helpers/eventually.js';

/** Debian's `prometheus` package; CI installs it (deploy/validate.sh with CI=true). */
export const PROMETHEUS_BINARY = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

export interface PrometheusServer {
  url: string;
  /** stderr's tail, for failure messages */
  log(): string;
  stop(): Promise<void>;
  /** GET /api/v1/<path>: the `data` of a successful answer */
  api<T>(pathAndQuery: string): Promise<T>;
}

/**
 * A real Prometheus on a free loopback port with a temporary data directory, scraping `targets` every second
 * (one scrape job per target, named after its `job` label, with its other labels as static target labels, which
 * is how the PodMonitors' jobs look to the rules) and evaluating `ruleFiles` every second.
 */
export async function startPrometheus(targets: ScrapeTarget[], ruleFiles: string[]): Promise<PrometheusServer> {
  await access(PROMETHEUS_BINARY, constants.X_OK).catch(() => {
    throw new Error(`${PROMETHEUS_BINARY} not found: install Debian's prometheus package (apt-get install prometheus; CI: deploy/validate.sh with CI=true installs it)`);
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: targets.map((t) => {
      const url = new URL(t.url);
      const { job, instance: _fromAddress, ...labels } = t.labels;
      return { job_name: job, metrics_path: url.pathname, static_configs: [{ targets: [url.host], labels }] };
    }),
  };
  await writeFile(path.join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const child: ChildProcess = spawn(PROMETHEUS_BINARY, [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The whole process group: nothing Prometheus may have started outlives the test.
    const signal = (s: NodeJS.Signals) => { try { process.kill(-child.pid!, s); } catch { /* already gone */ } };
    if (child.exitCode === null && child.signalCode === null) {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const server: PrometheusServer = {
    url,
    log: () => stderr,
    stop,
    async api<T>(pathAndQuery: string): Promise<T> {
      const res = await fetch(`${url}/api/v1/${pathAndQuery}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error ?? res.status}`);
      return body.data;
    },
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
      return fetch(`${url}/-/ready`).then((r) => r.ok).catch(() => false);
    }, { timeoutMs: 30_000, what: 'prometheus ready' });
  } catch (err) {
    await stop();
    throw err;
  }
  return server;
}
