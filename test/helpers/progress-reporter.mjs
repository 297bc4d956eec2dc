// A node:test reporter for test/run-tests.ts: one JSON line per test that starts (`test:dequeue`) or ends
// (`test:complete`), with its file, so the runner can say which files and tests are still running when its deadline
// passes. Node 20 reports a file's subprocess as a test named after the file, whose `test:complete` comes only once
// the process exited: a file whose tests all ended but whose process lingers shows up as exactly that.
// Plain JavaScript: node loads reporters before the `--import tsx` hook is in place.

/** @param {AsyncIterable<{ type: string, data: { file?: string, name: string, nesting: number } }>} source */
export default async function* progressReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:dequeue' && event.type !== 'test:complete') continue;
    const { file, name, nesting } = event.data;
    if (!file) continue;
    yield `${JSON.stringify({ event: event.type === 'test:dequeue' ? 'start' : 'end', file, name, nesting, at: Date.now() })}\n`;
  }
}
