/** Import boundaries (see the README's Layout): modules talk through index.ts, platform imports no module, no cycles. */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'platform-imports-no-module',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(modules|main|sandbox-processor)/' },
    },
    {
      name: 'modules-through-index',
      comment: 'a module reaches another module only through its index.ts',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'] },
    },
    {
      name: 'nothing-imports-main',
      severity: 'error',
      from: { path: '^src/(platform|modules|sandbox-processor)/' },
      to: { path: '^src/main/' },
    },
    {
      name: 'sandbox-is-separate',
      comment: 'the sandbox processor is its own service: it may use platform and the processors port only',
      severity: 'error',
      from: { path: '^src/sandbox-processor/' },
      to: { path: '^src/modules/', pathNot: '^src/modules/processors/index\\.ts$' },
    },
    {
      name: 'no-test-code-in-production',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: ['\\.test\\.ts$', '^test/'] },
    },
  ],
  options: {
    // The SDK workspace (packages/sdk) is a package of its own that src/cli uses: its insides are not src's boundaries.
    doNotFollow: { path: ['node_modules', '^packages/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
