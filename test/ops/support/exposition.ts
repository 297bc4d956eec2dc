/**
 * Reading the platform's real /metrics output (Prometheus text exposition format 0.0.4) into samples, and
 * scraping it the way a PodMonitor would: with the target labels (namespace, job, pod, instance) that Prometheus
 * adds to every series, since the alert rules select on those as much as on the app's own labels.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Exposition {
  samples: Sample[];
  /** `# TYPE` of each metric family, by family name */
  types: Map<string, MetricKind>;
}

/** A scrape target, labelled as the PodMonitor's Prometheus would label it. */
export interface ScrapeTarget {
  url: string;
  labels: { namespace: string; job: string; pod: string; instance: string };
}

export interface TargetScrape {
  target: ScrapeTarget;
  atMs: number;
  exposition: Exposition;
}

/** As Prometheus reads them: Inf and NaN in any case (prom-client writes `Nan`). */
function parseValue(raw: string): number {
  const lower = raw.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const value = Number(raw);
  if (Number.isNaN(value)) throw new Error(`not a sample value: ${raw}`);
  return value;
}

/** `a="x",b="y\"z"` with the format's escapes (\\, \", \n). */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const nameMatch = /^\s*,?\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(text.slice(i));
    if (!nameMatch) {
      if (/^\s*,?\s*$/.test(text.slice(i))) break;
      throw new Error(`bad label set: {${text}}`);
    }
    i += nameMatch[0].length;
    let value = '';
    for (; i < text.length && text[i] !== '"'; i++) {
      if (text[i] === '\\') {
        i++;
        value += text[i] === 'n' ? '\n' : text[i];
      } else {
        value += text[i];
      }
    }
    i++; // closing quote
    labels[nameMatch[1]!] = value;
  }
  return labels;
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, MetricKind>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , family, kind] = line.split(/\s+/);
      types.set(family!, kind as MetricKind);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? ''), value: parseValue(m[3]!) });
  }
  return { samples, types };
}

/**
 * Counters and histogram/summary parts only ever grow (rate() applies); gauges are read as they are. The kind
 * comes from the family's `# TYPE` line, which names the histogram without its _bucket/_count/_sum suffix.
 */
export function kindOf(exposition: Exposition, sampleName: string): 'counter' | 'gauge' {
  const direct = exposition.types.get(sampleName);
  if (direct === 'counter') return 'counter';
  if (direct === 'gauge') return 'gauge';
  const family = sampleName.replace(/_(bucket|count|sum)$/, '');
  const kind = exposition.types.get(family);
  if (kind === 'histogram' || kind === 'summary') return 'counter';
  if (kind === 'counter') return 'counter';
  return 'gauge';
}

export async function scrape(target: ScrapeTarget): Promise<TargetScrape> {
  const res = await fetch(target.url);
  if (res.status !== 200) throw new Error(`scrape of ${target.url} answered ${res.status}`);
  const exposition = parseExposition(await res.text());
  return { target, atMs: Date.now(), exposition };
}

/** Every sample with its target's labels added, as Prometheus stores it. */
export function labelledSamples(scrapeResult: TargetScrape): Sample[] {
  return scrapeResult.exposition.samples.map((s) => ({ ...s, labels: { ...s.labels, ...scrapeResult.target.labels } }));
}
