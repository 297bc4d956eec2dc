import type pg from 'pg';
import { fencedBlocks, inlineCode, insightsFields, promQueries, shellLogFields, sqlStatements, sqlTables, type LogFieldUse } from './runbook-extract.js';
import { EXTERNAL_METRICS, SHIPPER_LOG_FIELD_PREFIXES, TARGET_LABELS, type SystemFacts } from './runbook-facts.js';

/** Languages a runbook may fence; anything else is a typo that would silently skip the checks. */
export const KNOWN_LANGS = new Set(['promql', 'sql', 'logsinsights', 'sh', 'text', 'json', 'yaml']);

function checkPromQL(text: string, facts: SystemFacts): string[] {
  const problems: string[] = [];
  for (const q of promQueries(text)) {
    const labelsOfQuery = new Set<string>(TARGET_LABELS);
    for (const s of q.selectors) {
      const known = facts.metrics.get(s.metric);
      const external = s.metric in EXTERNAL_METRICS;
      if (!known && !external) {
        problems.push(`metric ${s.metric} is not exposed by NimbusPay's /metrics (nor a known external metric) in: ${q.expr}`);
        continue;
      }
      if (known) for (const l of known) labelsOfQuery.add(l);
      if (external) continue;
      for (const label of s.labels) {
        if (!known!.has(label) && !TARGET_LABELS.has(label)) problems.push(`metric ${s.metric} has no label ${label} (it has ${[...known!].sort().join(', ') || 'none'}) in: ${q.expr}`);
      }
    }
    // a query on an unknown metric already failed; labels of external metrics are theirs to define
    const allOurs = q.selectors.every((s) => facts.metrics.has(s.metric));
    if (allOurs && q.selectors.length > 0) {
      for (const label of q.groupingLabels) {
        if (!labelsOfQuery.has(label)) problems.push(`no metric of the query has label ${label} (grouping) in: ${q.expr}`);
      }
    }
  }
  return problems;
}

function typeOfLiteral(v: string | number | boolean): string {
  return typeof v;
}

function checkLogField(use: LogFieldUse, facts: SystemFacts): string | undefined {
  if (use.path.startsWith('@') || SHIPPER_LOG_FIELD_PREFIXES.some((p) => use.path.startsWith(p))) return undefined;
  const seen = facts.logFields.get(use.path);
  if (!seen) {
    if (!use.path.includes('.') && facts.declaredLogFields.has(use.path)) return undefined;
    return `log field ${use.path} (${use.source}) appears in no log line of the running platform and in no logger call in src/`;
  }
  if (use.literal !== undefined && !seen.has(typeOfLiteral(use.literal))) {
    return `log field ${use.path} is compared with ${JSON.stringify(use.literal)} (${typeOfLiteral(use.literal)}), but the logs write it as ${[...seen].join('/')} (${use.source})`;
  }
  return undefined;
}

async function checkSQL(text: string, db: pg.ClientBase, tables: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  for (const { sql, control } of sqlStatements(text)) {
    if (control) continue;
    for (const t of sqlTables(sql)) {
      const name = t.includes('.') ? t.split('.').pop()! : t;
      if (!tables.has(name)) problems.push(`table ${t} does not exist in the migrated database: ${sql.slice(0, 80)}`);
    }
    if (!/^(select|with|update|delete|insert)\b/i.test(sql)) continue;
    // EXPLAIN plans without running: every table, column and function must resolve against the migrated schema.
    await db.query('savepoint runbook_sql');
    try {
      await db.query(`explain ${sql}`);
      await db.query('release savepoint runbook_sql');
    } catch (err) {
      await db.query('rollback to savepoint runbook_sql');
      problems.push(`${(err as Error).message}: ${sql.replace(/\s+/g, ' ').slice(0, 100)}`);
    }
  }
  return problems;
}

/**
 * Every problem of one runbook's commands, as `line N: …`. `db` must be inside a transaction on a migrated
 * database (the caller rolls it back).
 */
export async function checkRunbook(markdown: string, facts: SystemFacts, db: pg.ClientBase, tables: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  const at = (line: number, list: string[]) => problems.push(...list.map((p) => `line ${line}: ${p}`));
  for (const block of fencedBlocks(markdown)) {
    if (!KNOWN_LANGS.has(block.lang)) at(block.line, [`code block language '${block.lang || '(none)'}' is not one of ${[...KNOWN_LANGS].join(', ')}`]);
    if (block.lang === 'promql') at(block.line, checkPromQL(block.text, facts));
    if (block.lang === 'sql') at(block.line, await checkSQL(block.text, db, tables));
    if (block.lang === 'logsinsights') at(block.line, insightsFields(block.text).map((u) => checkLogField(u, facts)).filter((p): p is string => !!p));
    if (block.lang === 'sh') {
      for (const cmd of block.text.split('\n')) at(block.line, shellLogFields(cmd).map((u) => checkLogField(u, facts)).filter((p): p is string => !!p));
    }
  }
  for (const span of inlineCode(markdown)) at(span.line, shellLogFields(span.text).map((u) => checkLogField(u, facts)).filter((p): p is string => !!p));
  return problems;
}
