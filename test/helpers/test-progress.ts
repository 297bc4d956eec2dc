/** One line of test/helpers/progress-reporter.mjs: a test (or a whole file, `name === file`) started or ended. */
export interface ProgressLine {
  event: 'start' | 'end';
  file: string;
  name: string;
  nesting: number;
  /** ms since the epoch, when the runner saw the event */
  at: number;
}

export interface RunningFile {
  file: string;
  since: number;
  tests: Array<{ name: string; nesting: number; since: number }>;
}

/** What was still running, from the reporter's lines: files (with their start) and, per file, the tests not ended. */
export function stillRunning(lines: readonly ProgressLine[]): RunningFile[] {
  const files = new Map<string, { since: number; tests: Map<string, { name: string; nesting: number; since: number }> }>();
  for (const line of lines) {
    if (line.nesting === 0 && line.name === line.file) {
      if (line.event === 'start') files.set(line.file, { since: line.at, tests: new Map() });
      else files.delete(line.file);
      continue;
    }
    const file = files.get(line.file);
    if (!file) continue;
    const key = `${line.nesting}\u0000${line.name}`;
    if (line.event === 'start') file.tests.set(key, { name: line.name, nesting: line.nesting, since: line.at });
    else file.tests.delete(key);
  }
  return [...files].map(([file, state]) => ({ file, since: state.since, tests: [...state.tests.values()] }));
}
