/**
 * npm run sdk:generate [-- --from FILE_OR_URL]
 * Regenerates packages/sdk/src/generated/openapi.ts from the API's OpenAPI document: by default the one the
 * OpenAPI export builds from the code (no database needed); `--from` takes a saved document or a running
 * platform's `/openapi.json` instead.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GENERATED_TYPES_PATH, generateTypes } from './generate-types.js';

const root = path.resolve(import.meta.dirname, '../../..');
const { values } = parseArgs({ options: { from: { type: 'string' } } });

async function loadDocument(from: string | undefined): Promise<Record<string, unknown>> {
  if (from && /^https?:\/\//.test(from)) {
    const res = await fetch(from);
    if (!res.ok) throw new Error(`GET ${from} answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }
  if (from) return JSON.parse(await readFile(path.resolve(from), 'utf8')) as Record<string, unknown>;
  const exporter = path.join(root, 'scripts/openapi-document.ts');
  const { buildOpenApiDocument } = (await import(exporter)) as { buildOpenApiDocument: () => Promise<Record<string, unknown>> };
  return buildOpenApiDocument();
}

const out = path.join(root, GENERATED_TYPES_PATH);
await writeFile(out, await generateTypes(await loadDocument(values.from)));
process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
