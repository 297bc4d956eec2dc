import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestPlatform } from '../helpers/platform.js';
import { createHttpApp } from '../../src/platform/http/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { CONSOLE_CSP, registerConsole } from '../../src/main/console-static.js';
import { CONSOLE_DIST, ensureConsoleBuilt } from '../../scripts/build-console.js';

// How the API serves the support console's build: the SPA fallback, the security and cache headers, and what a
// server without a build answers. The browser flows are in console.test.ts.

function assertConsoleHeaders(res: Response, what: string): void {
  assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP, `${what}: CSP`);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
}

test('the API serves the console build at /console/ with strict headers and an SPA fallback', async (t) => {
  await ensureConsoleBuilt((line) => t.diagnostic(line));
  const platform = await startTestPlatform();
  t.after(() => platform.close());
  const get = (p: string) => fetch(`${platform.baseUrl}${p}`, { redirect: 'manual' });

  const bare = await get('/console?tab=1');
  assert.equal(bare.status, 308);
  assert.equal(bare.headers.get('location'), '/console/?tab=1');

  const index = await get('/console/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-store');
  assertConsoleHeaders(index, 'index.html');
  const html = await index.text();
  assert.match(html, /<div id="root">/);

  // Every URL the page names is on this origin, under /console/ (or an inline data: icon): no CDN, no web font.
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(urls.length >= 2, `index.html names its script and stylesheet: ${urls.join(', ')}`);
  for (const url of urls) assert.ok(url.startsWith('/console/') || url.startsWith('data:'), `index.html references ${url}`);

  const script = urls.find((u) => u.endsWith('.js'))!;
  const asset = await get(script);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assertConsoleHeaders(asset, 'asset');

  // Client-side routes get the page; the router in the browser picks the screen.
  for (const route of ['/console/login', '/console/payments/pay_01jq8x4m3c0000000000000000', '/console/search?q=x']) {
    const res = await get(route);
    assert.equal(res.status, 200, route);
    assert.equal(res.headers.get('cache-control'), 'no-store', route);
    assert.equal(await res.text(), html, route);
  }
  // A missing script is a 404 (the standard error object), never the HTML page under a script's name.
  for (const missing of ['/console/assets/nope-123.js', '/console/favicon.ico', '/console/assets']) {
    const res = await get(missing);
    assert.equal(res.status, 404, missing);
    assert.equal((await res.json() as { error: { code: string } }).error.code, 'route_not_found', missing);
    assertConsoleHeaders(res, missing);
  }
  for (const sneaky of ['/console/%2e%2e/package.json', '/console/..%2fpackage.json', '/console/assets/..%2f..%2f..%2fpackage.json', '/console/.vite/x']) {
    const res = await get(sneaky);
    assert.equal(res.status, 404, sneaky);
    assert.doesNotMatch(await res.text(), /"name": "nimbuspay"/, sneaky);
  }
  // Outside /v1, unauthenticated by design, and not part of the API's OpenAPI document.
  const doc = await (await get('/openapi.json')).json() as { paths: Record<string, unknown> };
  assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/console')), 'console routes are hidden from the OpenAPI document');
});

test('the built console references nothing on another host', async () => {
  await ensureConsoleBuilt();
  const assets = path.join(CONSOLE_DIST, 'assets');
  for (const file of await readdir(assets)) {
    const text = await readFile(path.join(assets, file), 'utf8');
    if (file.endsWith('.css')) {
      assert.doesNotMatch(text, /url\(\s*["']?(https?:)?\/\//i, `${file} loads a remote resource`);
      assert.doesNotMatch(text, /@import/i, `${file} imports a stylesheet`);
    }
    if (file.endsWith('.js')) {
      assert.doesNotMatch(text, /fonts\.googleapis|fonts\.gstatic|cdn\.jsdelivr|unpkg\.com|googletagmanager|google-analytics/i, `${file} names a CDN or analytics host`);
    }
  }
});

test('without a console build, /console/ says how to build it (503) and the API still starts', async (t) => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-console-missing-'));
  t.after(() => rm(empty, { recursive: true, force: true }));
  const app = await createHttpApp({ logger: createLogger({ level: 'silent', name: 'test' }), bodyLimitBytes: 1024, publicUrl: 'http://127.0.0.1', title: 'test' });
  t.after(() => app.close());
  await registerConsole(app, { distDir: path.join(empty, 'dist') });
  await app.ready();
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  for (const p of ['/console/', '/console/search', '/console/assets/index.js']) {
    const res = await fetch(`${url}${p}`);
    assert.equal(res.status, 503, p);
    const body = await res.json() as { error: { code: string; message: string; request_id: string } };
    assert.equal(body.error.code, 'service_unavailable');
    assert.match(body.error.message, /npm run build:console/);
    assert.ok(body.error.request_id);
    assertConsoleHeaders(res, p);
  }
});
