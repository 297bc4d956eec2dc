/**
 * Pulls what a runbook claims about the system out of its Markdown, following the conventions at the top of
 * docs/runbooks/README.md: PromQL in ```promql blocks, SQL in ```sql blocks, CloudWatch Logs Insights in
 * ```logsinsights blocks, and log searches as `jq`/`grep` commands (in ```sh blocks or inline code) on the output
 * of `kubectl logs`. Pure functions: runbooks.test.ts checks the results against the running code.
 */

export interface CodeBlock {
  lang: string;
  text: string;
  /** 1-based line of the opening fence (or of the inline span) */
  line: number;
}

export function fencedBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  let open: { lang: string; line: number; indent: number; body: string[] } | undefined;
  lines.forEach((raw, i) => {
    const fence = /^(\s*)```\s*([\w-]*)\s*$/.exec(raw);
    if (!open && fence) open = { lang: fence[2]!.toLowerCase(), line: i + 1, indent: fence[1]!.length, body: [] };
    else if (open && fence) {
      blocks.push({ lang: open.lang, text: open.body.join('\n'), line: open.line });
      open = undefined;
    } else if (open) open.body.push(raw.slice(Math.min(open.indent, raw.length - raw.trimStart().length)));
  });
  return blocks;
}

/** Inline code spans outside fenced blocks (commands quoted in prose). */
export function inlineCode(markdown: string): CodeBlock[] {
  const spans: CodeBlock[] = [];
  let inFence = false;
  markdown.split('\n').forEach((raw, i) => {
    if (/^\s*```/.test(raw)) inFence = !inFence;
    else if (!inFence) for (const m of raw.matchAll(/`([^`]+)`/g)) spans.push({ lang: 'inline', text: m[1]!, line: i + 1 });
  });
  return spans;
}

// ---------------------------------------------------------------------------------------------------- PromQL

export interface PromSelector {
  metric: string;
  labels: string[];
}

export interface PromQuery {
  expr: string;
  selectors: PromSelector[];
  /** labels named in by/without/on/ignoring/group_left/group_right clauses */
  groupingLabels: string[];
}

const PROMQL_KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan', 'atan2',
]);

/** One expression per line; `#` starts a comment. */
export function promQueries(block: string): PromQuery[] {
  const out: PromQuery[] = [];
  for (const rawLine of block.split('\n')) {
    const expr = rawLine.replace(/#.*$/, '').trim();
    if (!expr) continue;
    const selectors: PromSelector[] = [];
    const groupingLabels: string[] = [];
    // string literals, durations in brackets: not names
    const masked = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
    for (const m of masked.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
      groupingLabels.push(...m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
    }
    const withoutGrouping = masked.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
    const tokenRe = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g;
    for (const m of withoutGrouping.matchAll(tokenRe)) {
      const [, name, braces, call] = m;
      if (call && !braces) continue; // a function call
      if (PROMQL_KEYWORDS.has(name!.toLowerCase())) continue;
      if (/^\d/.test(name!)) continue;
      const before = withoutGrouping.slice(0, m.index);
      if (/[\d.]$/.test(before)) continue; // a duration unit (offset 1h) or a number's exponent
      if (/\{[^}]*$/.test(before)) continue; // inside another selector's braces (a label name)
      const labels = braces ? [...braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!) : [];
      selectors.push({ metric: name!, labels });
    }
    out.push({ expr, selectors, groupingLabels });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------- SQL

/** Statements of a ```sql block; transaction control and SET are returned too, flagged, so the caller can skip them. */
export function sqlStatements(block: string): Array<{ sql: string; control: boolean }> {
  const withoutComments = block.replace(/--[^\n]*/g, '');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter(Boolean)
    .map((sql) => ({ sql, control: /^(begin|commit|rollback|start\s+transaction|set\s)/i.test(sql) }));
}

/** Tables named after FROM / JOIN (a cheap cross-check before the statement itself is planned). */
export function sqlTables(sql: string): string[] {
  const masked = sql.replace(/'(?:[^']|'')*'/g, "''");
  return [...masked.matchAll(/\b(?:from|join)\s+([a-zA-Z_][a-zA-Z0-9_.]*)/gi)].map((m) => m[1]!.toLowerCase()).filter((t) => !t.includes('('));
}

// ---------------------------------------------------------------------------------------------------- logs

/** A log field a command relies on: its dotted path, and the literal it is compared with if any. */
export interface LogFieldUse {
  path: string;
  literal?: string | number | boolean;
  source: 'grep' | 'jq' | 'logsinsights';
}

function literalOf(text: string): string | number | boolean | undefined {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  const q = /^"(.*)"$/.exec(t) ?? /^'(.*)'$/.exec(t);
  return q ? q[1]! : undefined;
}

/** Log searches in a shell command line: `grep` patterns naming JSON keys, `jq` paths. */
export function shellLogFields(command: string): LogFieldUse[] {
  const uses: LogFieldUse[] = [];
  // only searches of the application's log output: jq on a secret's JSON is not a log field
  if (!/\blogs\b/.test(command)) return uses;
  for (const g of command.matchAll(/\bgrep\b(?:\s+-[a-zA-Z]+)*\s+(?:'([^']*)'|"((?:[^"\\]|\\.)*)")/g)) {
    const pattern = g[1] ?? g[2]!.replace(/\\"/g, '"');
    for (const m of pattern.matchAll(/"([a-zA-Z_][a-zA-Z0-9_]*)"(?:\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false))?/g)) {
      const literal = m[2] === undefined ? undefined : literalOf(m[2]);
      uses.push({ path: m[1]!, ...(literal !== undefined ? { literal } : {}), source: 'grep' });
    }
  }
  for (const j of command.matchAll(/\bjq\b(?:\s+-[a-zA-Z]+)*\s+'([^']*)'/g)) {
    const program = j[1]!;
    const masked = program.replace(/"(?:[^"\\]|\\.)*"/g, (s) => s.replace(/\./g, '\u0000'));
    for (const m of masked.matchAll(/(?<![\w\]])\.([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)(\s*(?:==|!=|>=|<=|>|<)\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false))?/g)) {
      const literal = m[3] === undefined ? undefined : literalOf(m[3].replace(/\u0000/g, '.'));
      uses.push({ path: m[1]!, ...(literal !== undefined ? { literal } : {}), source: 'jq' });
    }
    // object construction shorthand, `{time, route}`: each key is a field of the input line
    for (const m of masked.matchAll(/\{\s*([a-zA-Z_]\w*(?:\s*,\s*[a-zA-Z_]\w*)*)\s*\}/g)) {
      for (const key of m[1]!.split(',')) uses.push({ path: key.trim(), source: 'jq' });
    }
  }
  return uses;
}

const INSIGHTS_WORDS = new Set([
  'fields', 'filter', 'stats', 'sort', 'limit', 'display', 'parse', 'dedup', 'unmask', 'pattern', 'diff', 'unnest', 'by', 'as', 'and', 'or', 'not',
  'in', 'like', 'desc', 'asc', 'source', 'filterindex',
]);

/** Field names in a Logs Insights query: every bare identifier that is not a command, keyword, function or alias. */
export function insightsFields(query: string): LogFieldUse[] {
  const uses: LogFieldUse[] = [];
  const aliases = new Set([...query.matchAll(/\bas\s+([a-zA-Z_][a-zA-Z0-9_]*)/g)].map((m) => m[1]!));
  for (const rawLine of query.split('\n')) {
    const line = rawLine.replace(/^\s*\|\s*/, '').replace(/#.*$/, '');
    // regex literals and strings are values, not names (remember each comparison's literal first)
    const compared = new Map<string, string | number | boolean>();
    for (const m of line.matchAll(/([a-zA-Z_][\w.]*)\s*(?:=|!=|>=|<=|>|<)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|true|false)/g)) {
      const lit = literalOf(m[2]!);
      if (lit !== undefined) compared.set(m[1]!, lit);
    }
    const masked = line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/\/(?:[^/\\]|\\.)+\/\w*/g, '""');
    for (const m of masked.matchAll(/(@?[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)(\s*\()?/g)) {
      const [, name, call] = m;
      if (call || name!.startsWith('@') || INSIGHTS_WORDS.has(name!.toLowerCase()) || aliases.has(name!)) continue;
      if (/^\d/.test(name!)) continue;
      const before = masked.slice(0, m.index);
      if (/\d$/.test(before)) continue; // a duration unit: bin(5m)
      const literal = compared.get(name!);
      uses.push({ path: name!, ...(literal !== undefined ? { literal } : {}), source: 'logsinsights' });
    }
  }
  return uses;
}
