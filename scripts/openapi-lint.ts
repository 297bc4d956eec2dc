import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildOpenApiDocument } from './openapi-document.js';

/**
 * npm run lint:openapi: exports the document to a temporary file and lints it with Redocly (redocly.yaml).
 * Fails on any problem, warnings included: the document is kept at 0 errors and 0 warnings.
 */
const dir = await mkdtemp(path.join(tmpdir(), 'nimbuspay-openapi-'));
try {
  const file = path.join(dir, 'openapi.json');
  await writeFile(file, JSON.stringify(await buildOpenApiDocument()));
  const bin = path.resolve('node_modules/.bin/redocly');
  const stylish = spawnSync(bin, ['lint', file, '--config', 'redocly.yaml', '--format', 'stylish'], { stdio: 'inherit' });
  const json = spawnSync(bin, ['lint', file, '--config', 'redocly.yaml', '--format', 'json'], { encoding: 'utf8' });
  const report = JSON.parse(json.stdout) as { totals: { errors: number; warnings: number } };
  const { errors, warnings } = report.totals;
  process.stdout.write(`openapi lint: ${errors} error(s), ${warnings} warning(s)\n`);
  process.exitCode = stylish.status === 0 && errors === 0 && warnings === 0 ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
