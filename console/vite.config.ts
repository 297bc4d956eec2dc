import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

// The console is served by the API under /console/ (src/main/console-static.ts), from this build's outDir.
export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  // The repository's public/ folder does not exist for the console; nothing is copied besides the bundle.
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    // No inlined data: URLs for fonts or scripts; assets stay files under the same origin (the CSP allows data: for
    // images only).
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  logLevel: 'warn',
});
