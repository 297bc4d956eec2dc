import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { InputSeries } from './promtool-input.js';

/** Debian's `prometheus` package installs promtool and prometheus here; CI installs it (deploy/validate.sh). */
export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

export interface ExpectedAlert {
  alert: string;
  labels: Record<string, string>;
}

export interface PromtoolTestGroup {
  name: string;
  intervalSeconds: number;
  series: InputSeries[];
  /** at these times, no alert of `quiet` fires (exact: promtool compares the whole firing set, empty) */
  quiet?: { alerts: string[]; at: string[] };
  /** at `at`, each of these fires with (at least) these labels */
  firing?: { alerts: ExpectedAlert[]; at: string };
}

function selector(e: ExpectedAlert): string {
  const labels = { alertname: e.alert, alertstate: 'firing', ...e.labels };
  return `ALERTS{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

/** The promtool unit-test document for `rulesFile` (a path relative to the test file). */
export function promtoolTestFile(rulesFile: string, evaluationIntervalSeconds: number, groups: PromtoolTestGroup[]): string {
  return stringify({
    rule_files: [rulesFile],
    evaluation_interval: `${evaluationIntervalSeconds}s`,
    tests: groups.map((g) => ({
      name: g.name,
      interval: `${g.intervalSeconds}s`,
      input_series: g.series,
      alert_rule_test: (g.quiet?.at ?? []).flatMap((at) => g.quiet!.alerts.map((alertname) => ({ eval_time: at, alertname, exp_alerts: [] }))),
      // ALERTS is what the rule evaluation wrote: asserting on it names the labels that matter without having to
      // predict every other alert a real fault also raises (a processor outage legitimately fails several operations).
      promql_expr_test: (g.firing?.alerts ?? []).map((e) => ({ expr: `count(${selector(e)})`, eval_time: g.firing!.at, exp_samples: [{ labels: '{}', value: 1 }] })),
    })),
  }, { lineWidth: 0 });
}

/** Runs `promtool test rules` on the given rules and test document; resolves with its exit code and output. */
export async function runPromtool(rules: string, testFile: string): Promise<{ code: number; output: string; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-promtool-'));
  await writeFile(path.join(dir, 'rules.yml'), rules);
  await writeFile(path.join(dir, 'tests.yml'), testFile);
  return new Promise((resolve, reject) => {
    execFile(PROMTOOL, ['test', 'rules', path.join(dir, 'tests.yml')], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        void rm(dir, { recursive: true, force: true });
        reject(new Error(`${PROMTOOL} not found: install Debian's prometheus package (apt-get install prometheus; CI: deploy/validate.sh with CI=true)`));
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`, dir });
    });
  });
}
