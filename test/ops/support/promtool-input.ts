import { kindOf, labelledSamples, type TargetScrape } from './exposition.js';

/**
 * Turns successive real scrapes into promtool `input_series`. A rule needs minutes of data (`for:`, 5-15 minute
 * ranges, `offset 1h`) that a test cannot wait for, so each series is the steady continuation of what the scrapes
 * measured, at the PodMonitor's scrape interval:
 *   - a counter (histogram parts included) starts at its scraped value and grows at the per-second rate measured
 *     between the first and the last scrape of the phase;
 *   - a gauge that moved one way across the phase, over at least two of its refreshes (an age growing, a backlog
 *     filling), continues that trend (never below 0); any other gauge replays its scraped values in order, over
 *     and over (a constant stays constant, a breaker cycling open/half-open keeps cycling).
 * A scenario has two phases: the state just before the fault (held for `baselineSteps`, long enough for
 * `offset 1h` to see it) and the fault (for `faultSteps`). Values of a series missing in a phase are `_`.
 */

export interface Phase {
  scrapes: TargetScrape[];
}

export interface InputSeries {
  series: string;
  values: string;
}

export interface SeriesShape {
  /** seconds between two samples: the PodMonitor's interval */
  intervalSeconds: number;
  baselineSteps: number;
  faultSteps: number;
}

interface Point {
  atMs: number;
  value: number;
}

interface Track {
  name: string;
  labels: Record<string, string>;
  kind: 'counter' | 'gauge';
  baseline: Point[];
  fault: Point[];
}

function num(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`cannot extrapolate a non-finite value (${v})`);
  return String(Math.round(v * 1e6) / 1e6);
}

/** `count` samples a, a+step, … in promtool's expanding notation. */
function arithmetic(start: number, step: number, count: number): string {
  if (count <= 0) return '';
  const s = Math.round(step * 1e6) / 1e6;
  return `${num(start)}${s < 0 ? '-' : '+'}${num(Math.abs(s))}x${count - 1}`;
}

function blanks(count: number): string {
  return count > 0 ? `_x${count}` : '';
}

function perSecond(points: Point[]): number {
  const first = points[0]!;
  const last = points[points.length - 1]!;
  return last.atMs > first.atMs ? ((last.value - first.value) * 1000) / (last.atMs - first.atMs) : 0;
}

/**
 * A gauge refreshed every few seconds shows steps; its slope is measured between the scrapes where it changed
 * (each seen within one scrape of the change), not from the first scrape, which may hold a value seconds old.
 */
function gaugeSlope(points: Point[]): number {
  const changes = points.filter((p, i) => i > 0 && p.value !== points[i - 1]!.value);
  return changes.length >= 2 ? perSecond(changes) : perSecond(points);
}

/**
 * A trend is a move seen across at least two refreshes of the gauge, all the same way: one step (a backlog of
 * 0 becoming 3 between two scrapes of healthy traffic) says nothing about where it is going.
 */
function trending(points: Point[]): boolean {
  const deltas = points.slice(1).map((p, i) => p.value - points[i]!.value);
  return deltas.filter((d) => d !== 0).length >= 2 && (deltas.every((d) => d >= 0) || deltas.every((d) => d <= 0));
}

function gaugeSegment(points: Point[], steps: number, intervalSeconds: number): string {
  if (points.length === 0) return blanks(steps);
  if (trending(points)) {
    const start = points[points.length - 1]!.value;
    const step = gaugeSlope(points) * intervalSeconds;
    const untilZero = step < 0 ? Math.min(steps, Math.floor(start / -step) + 1) : steps;
    return [arithmetic(start, step, untilZero), untilZero < steps ? arithmetic(0, 0, steps - untilZero) : ''].filter(Boolean).join(' ');
  }
  const values: string[] = [];
  for (let i = 0; i < steps; i++) values.push(num(points[i % points.length]!.value));
  return values.join(' ');
}

function tracks(baseline: Phase, fault: Phase, keep: (name: string) => boolean): Track[] {
  const byKey = new Map<string, Track>();
  for (const [phase, which] of [[baseline, 'baseline'], [fault, 'fault']] as const) {
    for (const s of phase.scrapes) {
      for (const sample of labelledSamples(s)) {
        if (!keep(sample.name)) continue;
        const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
        let track = byKey.get(key);
        if (!track) {
          track = { name: sample.name, labels: sample.labels, kind: kindOf(s.exposition, sample.name), baseline: [], fault: [] };
          byKey.set(key, track);
        }
        track[which].push({ atMs: s.atMs, value: sample.value });
      }
    }
  }
  return [...byKey.values()];
}

function seriesName(name: string, labels: Record<string, string>): string {
  const body = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${name}{${body}}`;
}

export function inputSeries(baseline: Phase, fault: Phase, keep: (name: string) => boolean, shape: SeriesShape): InputSeries[] {
  const { intervalSeconds: dt, baselineSteps: nb, faultSteps: nf } = shape;
  const out: InputSeries[] = [];
  for (const t of tracks(baseline, fault, keep)) {
    let values: string;
    if (t.kind === 'counter') {
      const rateB = t.baseline.length > 0 ? Math.max(0, perSecond(t.baseline)) : 0;
      const baseEnd = t.baseline.length > 0 ? t.baseline[0]!.value + rateB * dt * (nb - 1) : 0;
      // What happened between the two phases (the fault being set up) lands in one step.
      const jump = t.baseline.length > 0 && t.fault.length > 0 ? Math.max(0, t.fault[0]!.value - t.baseline[t.baseline.length - 1]!.value) : 0;
      const faultStart = t.baseline.length > 0 ? baseEnd + jump : (t.fault[0]?.value ?? 0);
      values = [
        t.baseline.length > 0 ? arithmetic(t.baseline[0]!.value, rateB * dt, nb) : blanks(nb),
        t.fault.length > 0 ? arithmetic(faultStart, Math.max(0, perSecond(t.fault)) * dt, nf) : blanks(nf),
      ].join(' ');
    } else {
      values = [gaugeSegment(t.baseline, nb, dt), gaugeSegment(t.fault, nf, dt)].join(' ');
    }
    out.push({ series: seriesName(t.name, t.labels), values });
  }
  // Every scrape of every target succeeded: Prometheus would have written up=1 for each.
  const targets = new Map(fault.scrapes.concat(baseline.scrapes).map((s) => [JSON.stringify(s.target.labels), s.target.labels]));
  for (const labels of targets.values()) out.push({ series: seriesName('up', labels), values: arithmetic(1, 0, nb + nf) });
  return out;
}
