import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { Sample } from './exposition.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** ALERTS_FILE=<path> runs the tests on another rules file (a candidate change, or a deliberately broken copy). */
export const ALERTS_FILE = process.env.ALERTS_FILE ?? path.join(repoRoot, 'deploy/prometheus/alerts.yml');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export async function loadAlertGroups(): Promise<RuleGroup[]> {
  const doc = parse(await readFile(ALERTS_FILE, 'utf8')) as { groups: RuleGroup[] };
  return doc.groups;
}

/**
 * The rules as they are, minus annotations: their text depends on the measured value ({{ $value }}), which
 * promtool compares exactly. Expressions, `for` and labels (what decides whether and how an alert fires) are
 * untouched; the annotation templates have their own exact tests in deploy/prometheus/alerts.test.yml.
 */
export function rulesWithoutAnnotations(groups: RuleGroup[]): string {
  return stringify({
    groups: groups.map((g) => ({ name: g.name, rules: g.rules.map(({ annotations: _a, ...rule }) => rule) })),
  });
}

/**
 * Series the app does not export, produced by other exporters; the rules may use them, the scrape check skips them.
 * Keep every entry justified: a name listed here is never checked against anything real.
 */
export const OTHER_EXPORTER_SERIES: Record<string, string> = {
  up: 'written by Prometheus itself for every scrape target (1 when the scrape succeeded)',
  kube_deployment_status_replicas_available: 'kube-state-metrics (Deployment status), not the app',
  kube_deployment_spec_replicas: 'kube-state-metrics (Deployment spec), not the app',
};

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  alert: string;
  metric: string;
  matchers: Matcher[];
}

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool']);

/**
 * The vector selectors of a PromQL expression (`name{matchers}` and bare names). The rules use a small subset of
 * PromQL (no string literals outside matchers, no `{__name__=...}`), which this reads without a full parser:
 * range and offset durations and `by (...)`/`on (...)` label lists are removed first, then every identifier not
 * followed by `(` (a function or aggregation) and not a keyword is a metric name.
 */
export function selectorsOf(alert: string, expr: string): Selector[] {
  const text = expr
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ');
  const out: Selector[] = [];
  const token = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?(\s*\()?|\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi;
  for (const m of text.matchAll(token)) {
    const [, name, braces, call] = m;
    if (!name || call || NOT_METRICS.has(name)) continue;
    const matchers: Matcher[] = [];
    for (const mm of (braces ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      matchers.push({ label: mm[1]!, op: mm[2] as Matcher['op'], value: mm[3]!.replace(/\\(.)/g, '$1') });
    }
    out.push({ alert, metric: name, matchers });
  }
  return out;
}

export function allSelectors(groups: RuleGroup[]): Selector[] {
  return groups.flatMap((g) => g.rules.flatMap((r) => selectorsOf(r.alert, r.expr)));
}

function matches(m: Matcher, value: string | undefined): boolean {
  const v = value ?? '';
  switch (m.op) {
    case '=': return v === m.value;
    case '!=': return v !== m.value;
    case '=~': return new RegExp(`^(?:${m.value})$`).test(v);
    case '!~': return !new RegExp(`^(?:${m.value})$`).test(v);
  }
}

/**
 * What a rule selects that the scraped platform does not have. A metric name must be scraped; every matcher's label
 * must exist on that metric; a positive matcher must match a scraped value and a negative one must exclude one
 * (a `!=` naming a value the app never writes excludes nothing: the bug that made a token alert fire on
 * healthy traffic); and the whole selector must select at least one scraped series.
 */
export function selectorProblems(selectors: Selector[], scraped: Sample[]): string[] {
  const byName = new Map<string, Sample[]>();
  for (const s of scraped) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const problems: string[] = [];
  for (const sel of selectors) {
    if (sel.metric in OTHER_EXPORTER_SERIES) continue;
    const series = byName.get(sel.metric);
    const where = `${sel.alert}: ${sel.metric}`;
    if (!series) {
      problems.push(`${where} is not in the scraped output`);
      continue;
    }
    for (const m of sel.matchers) {
      const values = new Set(series.map((s) => s.labels[m.label]).filter((v): v is string => v !== undefined));
      if (values.size === 0) {
        problems.push(`${where}: label ${m.label} does not exist on the scraped series`);
      } else if ((m.op === '=' || m.op === '=~') && ![...values].some((v) => matches(m, v))) {
        problems.push(`${where}: ${m.label}${m.op}"${m.value}" matches no scraped value (seen: ${[...values].sort().join(', ')})`);
      } else if ((m.op === '!=' || m.op === '!~') && [...values].every((v) => matches(m, v))) {
        problems.push(`${where}: ${m.label}${m.op}"${m.value}" excludes no scraped value (seen: ${[...values].sort().join(', ')})`);
      }
    }
    if (!series.some((s) => sel.matchers.every((m) => matches(m, s.labels[m.label])))) {
      problems.push(`${where}{${sel.matchers.map((m) => `${m.label}${m.op}"${m.value}"`).join(', ')}} selects no scraped series`);
    }
  }
  return problems;
}

/** The scrape job names the PodMonitors give the pods (jobLabel = the pods' app.kubernetes.io/component). */
export async function podMonitorJobs(): Promise<string[]> {
  const text = await readFile(path.join(repoRoot, 'deploy/k8s/base/podmonitor.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => {
    const spec = (d.toJSON() as { spec: { jobLabel: string; selector: { matchLabels: Record<string, string> } } }).spec;
    const job = spec.selector.matchLabels[spec.jobLabel];
    if (!job) throw new Error(`PodMonitor without a ${spec.jobLabel} selector label`);
    return job;
  });
}
