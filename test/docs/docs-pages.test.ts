import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant } from '../helpers/tenants.js';
import { ERROR_CODES } from '../../src/platform/errors.js';
import { listCardScenarios, SANDBOX_APPROVED_CARDS } from '../../src/sandbox-processor/sandbox-cards.js';
import { listDebitScenarios } from '../../src/sandbox-processor/sandbox-bank-accounts.js';
import { GUIDES } from '../../src/docs/docs-page.js';
import { DOCS_CSP } from '../../src/platform/http/security-headers.js';

// /docs through the real platform over HTTP: every page of the navigation, every link on every page, the
// generated parts (error codes, test cards and accounts) and the page's policy (nothing from another host).

let platform: TestPlatform;
const pages = new Map<string, string>();

const hrefs = (html: string) => [...html.matchAll(/\shref="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
const ids = (html: string) => [...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!);
const srcs = (html: string) => [...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1]!);

async function page(path: string): Promise<string> {
  const cached = pages.get(path);
  if (cached !== undefined) return cached;
  const res = await fetch(`${platform.baseUrl}${path}`);
  assert.equal(res.status, 200, path);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
  const html = await res.text();
  pages.set(path, html);
  return html;
}

before(async () => {
  platform = await startTestPlatform();
});
after(async () => platform?.close());

describe('/docs pages', () => {
  it('the reference and every guide answer 200 with HTML under the docs policy, each from the navigation', async () => {
    const reference = await page('/docs');
    const nav = new Set(hrefs(reference));
    for (const guide of GUIDES) {
      assert.ok(nav.has(`/docs/${guide.slug}`), `the navigation links ${guide.slug}`);
      const res = await fetch(`${platform.baseUrl}/docs/${guide.slug}`);
      assert.equal(res.status, 200, guide.slug);
      assert.equal(res.headers.get('content-security-policy'), DOCS_CSP, guide.slug);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      const html = await res.text();
      assert.match(html, /^<!doctype html>/i);
      assert.match(html, new RegExp(`<title>${guide.title}`), guide.slug);
    }
    const unknown = await platform.request('GET', '/docs/no-such-guide');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'route_not_found');
  });

  it('every link on every page resolves: other pages answer 200, fragments name an element of their page', async () => {
    const queue = ['/docs'];
    const seen = new Set(queue);
    const broken: string[] = [];
    while (queue.length > 0) {
      const from = queue.shift()!;
      const html = await page(from);
      const own = ids(html);
      assert.equal(new Set(own).size, own.length, `ids are unique on ${from}: ${own.filter((id, i) => own.indexOf(id) !== i)}`);
      for (const href of hrefs(html)) {
        const url = new URL(href, `${platform.baseUrl}${from}`);
        if (url.protocol === 'data:') continue; // the empty icon
        if (url.origin !== new URL(platform.baseUrl).origin) {
          // a link to a standard is a navigation the reader chooses, not a request the page makes (checked offline)
          assert.equal(url.protocol, 'https:', `${from} links elsewhere only over https: ${href}`);
          continue;
        }
        const path = url.pathname;
        if (path.startsWith('/docs') && !path.startsWith('/docs/assets/')) {
          if (!seen.has(path)) {
            seen.add(path);
            queue.push(path);
          }
          if (url.hash) {
            const target = decodeURIComponent(url.hash.slice(1));
            if (!ids(await page(path)).includes(target)) broken.push(`${from} → ${href}`);
          }
        } else {
          const res = await fetch(url);
          await res.arrayBuffer();
          if (res.status !== 200) broken.push(`${from} → ${href} (${res.status})`);
        }
      }
    }
    assert.deepEqual(broken, []);
    for (const guide of GUIDES) assert.ok(seen.has(`/docs/${guide.slug}`), `crawled ${guide.slug}`);
  });

  it('the pages load nothing but their stylesheet from /docs, and no script', async () => {
    for (const path of ['/docs', ...GUIDES.map((g) => `/docs/${g.slug}`)]) {
      const html = await page(path);
      assert.deepEqual(srcs(html), [], path);
      assert.doesNotMatch(html, /<script|<iframe|@import|url\(/i, path);
      const links = [...html.matchAll(/<link[^>]*>/g)].map((m) => m[0]);
      // the empty data: icon keeps the browser from asking for /favicon.ico
      assert.deepEqual(links, ['<link rel="icon" href="data:,">', '<link rel="stylesheet" href="/docs/assets/docs.css">'], path);
    }
    const css = await fetch(`${platform.baseUrl}/docs/assets/docs.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.doesNotMatch(await css.text(), /url\(|@import|@font-face/, 'no font or image from anywhere');
  });
});

describe('the reference', () => {
  it('shows every operation of the OpenAPI document with a sample request, and the payment operations', async () => {
    const html = await page('/docs');
    const doc = (await platform.request('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        const endpoint = `<span class="method method-${method}">${method.toUpperCase()}</span><code>${path.replace(/&/g, '&amp;')}</code>`;
        assert.ok(html.includes(endpoint), `${method.toUpperCase()} ${path} is in the reference`);
      }
    }
    assert.ok(html.includes(`curl -X POST &quot;${platform.baseUrl}/v1/payments&quot;`), 'a curl sample for POST /v1/payments');
    assert.match(html, /Idempotency-Key: \$\(node -pe/, 'the sample sends an Idempotency-Key');
    assert.match(html, /NimbusPay is a multi-tenant payment platform/, 'the introduction is the guide file');
    const first = /<p class="endpoint"><span[^>]*>[A-Z]+<\/span><code>([^<]+)<\/code>/.exec(html)?.[1];
    assert.match(first ?? '', /^\/v1\/payments/, 'an integrator\'s resources come first, the staff and admin routes last');
  });
});

/** The curl sample the reference shows for the operation at `method path`, as a reader would copy it. */
function curlSampleOf(html: string, method: string, path: string): string {
  const at = html.indexOf(`<span class="method method-${method}">${method.toUpperCase()}</span><code>${path}</code>`);
  assert.ok(at >= 0, `${method} ${path} is in the reference`);
  const sample = /<h4>Example request<\/h4>\s*<pre><code>([\s\S]*?)<\/code><\/pre>/.exec(html.slice(at))?.[1];
  assert.ok(sample, `${method} ${path} has a sample`);
  return sample.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

describe('the reference\'s curl samples, pasted into a shell as they are', () => {
  it('the token request gives a token and the list request answers with it', async () => {
    const html = await page('/docs');
    const tenant = await createTenant(platform);
    const script = [
      `TOKEN=$(${curlSampleOf(html, 'post', '/oauth/token')} -s | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
      `${curlSampleOf(html, 'get', '/v1/payments')} -s -o /dev/null -w '%{http_code}'`,
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
      env: { PATH: process.env.PATH, NIMBUSPAY_CLIENT_ID: tenant.clientId, NIMBUSPAY_CLIENT_SECRET: tenant.clientSecret },
    });
    assert.equal(stdout, '200');
  });
});

describe('generated guides', () => {
  it('the errors guide has one entry, id="<code>", for every error code, with its status, type and description', async () => {
    const html = await page('/docs/errors');
    const sections = new Map([...html.matchAll(/<section class="error-code" id="([^"]+)">([\s\S]*?)<\/section>/g)].map((m) => [m[1]!, m[2]!]));
    assert.deepEqual([...sections.keys()].sort(), Object.keys(ERROR_CODES).sort());
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      const section = sections.get(code)!;
      assert.ok(section.includes(`HTTP ${entry.status} · type <code>${entry.type}</code>`), code);
      const text = section.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
      assert.ok(text.includes(entry.description.replace(/`/g, '')), `${code}: its description`);
    }
  });

  it('the doc_url of a real error opens its entry', async () => {
    const res = await platform.request('GET', '/v1/payments?limit=1000', {});
    const docUrl = new URL(res.body.error.doc_url as string);
    assert.equal(docUrl.pathname, '/docs/errors');
    const html = await page('/docs/errors');
    assert.ok(html.includes(`id="${docUrl.hash.slice(1)}"`), docUrl.hash);
  });

  it('the testing guide lists every sandbox test card and bank account', async () => {
    const html = await page('/docs/testing');
    const cards = [...SANDBOX_APPROVED_CARDS, ...listCardScenarios().map(([number]) => number)];
    assert.ok(cards.length >= 10);
    for (const number of cards) assert.ok(html.includes(`<td><code>${number}</code></td>`), number);
    for (const [number, scenario] of listDebitScenarios()) {
      assert.ok(html.includes(`<td><code>${number}</code></td>`), number);
      if (scenario.kind !== 'settles') assert.ok(html.includes(scenario.achReturn.code), scenario.achReturn.code);
    }
    assert.match(html, /insufficient_funds/);
  });

  it('the webhooks guide shows the configured retry schedule (the test platform runs 50, 100, 200, 400 ms)', async () => {
    assert.deepEqual(platform.config.webhookRetryScheduleMs, [50, 100, 200, 400]);
    const html = await page('/docs/webhooks');
    for (const row of ['<td>2</td><td>50 ms after attempt 1</td>', '<td>5</td><td>400 ms after attempt 4</td><td>750 ms</td>']) assert.ok(html.includes(row), row);
    assert.ok(!html.includes('<td>6</td>'), 'no attempt beyond the schedule');
  });
});
