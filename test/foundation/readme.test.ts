import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replaceSection } from '../../scripts/readme-config.js';
import { TENANT_SCOPES, PLATFORM_SCOPES } from '../../src/platform/http/scopes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// The README is part of the product: its configuration table, scripts and scopes must match the code.
test('the README configuration table is the one generated from the settings table', async () => {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  assert.equal(readme, replaceSection(readme), 'run `npm run docs:config`');
});

test('every npm script the README mentions exists, and the two commands are there', async () => {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const [, name] of readme.matchAll(/npm run ([a-z:-]+)/g)) assert.ok(pkg.scripts[name!], `README mentions npm run ${name}`);
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm test/);
});

test('every scope is documented in the README', async () => {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  for (const scope of [...Object.keys(TENANT_SCOPES), ...Object.keys(PLATFORM_SCOPES)]) assert.ok(readme.includes(`\`${scope}\``), scope);
});
