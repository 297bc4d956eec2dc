import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildOpenApiDocument } from '../../scripts/openapi-document.js';
import { GENERATED_TYPES_PATH, generateTypes } from '../../packages/sdk/scripts/generate-types.js';

const root = path.resolve(import.meta.dirname, '../..');

// The SDK's types come from the OpenAPI document; a route or schema change must regenerate them, or this fails.
describe('sdk: generated types', () => {
  it(`${GENERATED_TYPES_PATH} equals a fresh generation from the API's OpenAPI document (run \`npm run sdk:generate\`)`, async () => {
    const committed = await readFile(path.join(root, GENERATED_TYPES_PATH), 'utf8');
    const fresh = await generateTypes(await buildOpenApiDocument());
    if (fresh !== committed) {
      const a = committed.split('\n');
      const b = fresh.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      assert.fail(`the generated SDK types are stale: first difference at line ${line + 1}:\n  committed: ${a[line]}\n  fresh:     ${b[line]}\nRun \`npm run sdk:generate\` and commit the result.`);
    }
  });

  it('the generator notices a changed API (a schema field removed)', async () => {
    const doc = await buildOpenApiDocument();
    const schemas = (doc.components as { schemas: Record<string, { properties: Record<string, unknown> }> }).schemas;
    const payment = Object.values(schemas).find((s) => s.properties?.capture_method && s.properties?.amount_refunded);
    assert.ok(payment, 'the document names the payment schema');
    delete payment.properties.capture_method;
    const committed = await readFile(path.join(root, GENERATED_TYPES_PATH), 'utf8');
    assert.notEqual(await generateTypes(doc), committed);
  });
});
