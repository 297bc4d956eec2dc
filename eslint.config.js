// Type-aware lint (npm run lint runs dependency-cruiser for import boundaries, then this).
//
// The rule set is deliberately small: the three rules below catch the bugs the type checker does not —
// a promise nobody awaits (an unhandled rejection, or a write that races the response), a promise handed to
// a callback that ignores it, and a `!` that turns "cannot be null" into an unchecked claim.
// Type information comes from the nearest tsconfig.json of each file (projectService): the root one for
// src/, test/, bench/, scripts/, infra/, examples/ and packages/sdk/scripts; packages/sdk/tsconfig.json and
// console/tsconfig.json for their sources.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'console/dist/**',
      'cdk.out/**',
      'infra/cdk.out/**',
      'coverage/**',
      '.nimbuspay/**',
      '.nimbuspay-test/**',
      'packages/sdk/src/generated/**',
      // vite's config belongs to console/tsconfig.node.json, which the project service does not look for
      'console/vite.config.ts',
    ],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe()/it() return a promise that never rejects (a failure is reported by
          // the runner, not thrown) and the runner waits for every top-level test; subtests (t.test) are
          // still checked, since an un-awaited subtest is cancelled when its parent ends.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
    },
  },
  {
    // Tests (and the benchmarks, which share their harness): `!` right after an assertion that the value
    // exists (assert.ok(row), a find() the previous line checked) is the idiomatic way to read it, and a
    // wrong guess fails the test loudly. Production code narrows instead.
    files: ['test/**', 'bench/**', '**/*.test.ts', '**/*.test.tsx', 'infra/test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
