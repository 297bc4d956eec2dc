#!/usr/bin/env node
// Runs the compiled CLI when built (container image, `npm run build`), else the TypeScript sources through tsx
// (development: tsx is a devDependency, absent from a production install).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/main/cli.js', import.meta.url));
if (existsSync(compiled)) {
  await import(compiled);
} else {
  const api = await import('tsx/esm/api').catch((error) => {
    if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    process.stderr.write('nimbuspay: dist/ is not built and tsx (a devDependency) is not installed: run `npm run build`, or `npm ci` with dev dependencies\n');
    process.exit(1);
  });
  // The repository's tsconfig, whatever the current directory: its `paths` map @nimbuspay/sdk to the SDK's sources
  // (tsx otherwise reads the tsconfig of the directory the command runs in).
  api.register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  await import('../src/main/cli.ts');
}
