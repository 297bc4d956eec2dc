import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { startTestPlatform } from '../helpers/platform.js';
import { GUIDES } from '../../src/docs/docs-page.js';

// /docs in a real browser (Debian's Chromium, scripts/ensure-chromium.sh, driven by playwright-core): every request
// a page makes is recorded, and each must go to the platform itself; a CSP violation or a failed load is a
// console error, and there must be none. Waits are Playwright's auto-waiting locators, never time.

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve(import.meta.dirname, '../../test-results/docs');

test('/docs and every guide load in Chromium with every request to the platform and no console error', async (t) => {
  const platform = await startTestPlatform();
  t.after(() => platform.close());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  t.after(() => browser.close());
  const context = await browser.newContext();
  const requests: string[] = [];
  const problems: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  context.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
  });
  context.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });

  const reference = await page.goto(`${platform.baseUrl}/docs`);
  assert.equal(reference?.status(), 200);
  await page.locator('section.operation .endpoint').first().waitFor();
  const paymentOperations = page.locator('section.operation .endpoint', { hasText: '/v1/payments' });
  assert.ok(await paymentOperations.count() >= 5, 'the payment operations are on the page (create, list, get, capture, cancel, refunds)');
  await page.locator('.endpoint', { hasText: 'POST' }).filter({ hasText: /^POST\s*\/v1\/payments$/ }).first().waitFor();
  // the stylesheet applied: the navigation is laid out as a sidebar, not unstyled text
  assert.equal(await page.locator('.docs-nav').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { position: string } }).getComputedStyle(el).position), 'sticky');
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'reference.png') });

  for (const guide of GUIDES) {
    await page.getByRole('navigation', { name: 'Documentation' }).getByRole('link', { name: guide.title, exact: true }).click();
    await page.waitForURL(`${platform.baseUrl}/docs/${guide.slug}`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, `${guide.slug}.png`) });
  }
  // the doc_url of an error lands on its entry
  await page.goto(`${platform.baseUrl}/docs/errors#invalid_state`);
  await page.locator('#invalid_state').waitFor();
  assert.equal(await page.locator(':target').getAttribute('id'), 'invalid_state');

  const origin = new URL(platform.baseUrl).origin;
  const elsewhere = requests.filter((url) => new URL(url).origin !== origin);
  assert.deepEqual(elsewhere, [], 'no request to another host');
  assert.ok(requests.some((url) => url.endsWith('/docs/assets/docs.css')), 'the stylesheet came from /docs');
  assert.deepEqual(problems, []);
});
