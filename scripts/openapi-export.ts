import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildOpenApiDocument } from './openapi-document.js';

/**
 * npm run openapi:export [-- --out FILE] [--server URL]
 * Writes the API's OpenAPI 3.1 document (JSON) without a database or network. Default output: openapi.json at the
 * repository root (not committed). `--server` sets servers[0].url (default http://localhost:3000).
 */
const { values } = parseArgs({ options: { out: { type: 'string' }, server: { type: 'string' } } });
const out = path.resolve(values.out ?? 'openapi.json');
const doc = await buildOpenApiDocument(values.server ? { NIMBUSPAY_PUBLIC_URL: values.server } : {});
await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
