import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyReply } from 'fastify';
import type { HttpApp } from '../platform/http/app.js';
import { sendError } from '../platform/http/error-handler.js';
import { GUIDES, DOCS_STYLESHEET_PATH, renderPage } from './docs-page.js';
import { listHeadings, renderGuide } from './docs-markdown.js';
import { renderReference, type OpenApiDocument } from './docs-reference.js';
import { renderErrorCodes, renderRetrySchedule, renderTestBankAccounts, renderTestCards } from './docs-generated.js';
import { DOCS_CSS } from './docs-style.js';

/** The guides' markdown: the same relative place from src/docs/ and dist/docs/. */
export const GUIDES_DIR = path.resolve(import.meta.dirname, '../../docs/guides');

export interface DocsOptions {
  guidesDir?: string;
  /** The webhook retry schedule this deployment runs (config), shown in the webhooks guide. */
  webhookRetryScheduleMs: readonly number[];
}

const HTML = 'text/html; charset=utf-8';
// Pages change only with a deploy; a short cache keeps a reader's navigation quick without serving a stale page long.
const CACHE = 'public, max-age=300';

async function renderGuides(options: DocsOptions): Promise<Map<string, string>> {
  const dir = options.guidesDir ?? GUIDES_DIR;
  const blocks = {
    'error-codes': renderErrorCodes,
    'test-cards': renderTestCards,
    'test-bank-accounts': renderTestBankAccounts,
    'webhook-retry-schedule': () => renderRetrySchedule(options.webhookRetryScheduleMs),
  };
  const pages = new Map<string, string>();
  for (const guide of GUIDES) {
    const html = renderGuide(await readFile(path.join(dir, `${guide.slug}.md`), 'utf8'), blocks);
    const headings = listHeadings(html);
    const aside = headings.length > 1
      ? `<p><strong>On this page</strong></p><ul>${headings.map((h) => `<li><a href="#${h.id}">${h.text}</a></li>`).join('')}</ul>`
      : undefined;
    pages.set(guide.slug, renderPage({ title: guide.title, current: guide.slug, body: html, ...(aside ? { aside } : {}) }));
  }
  return pages;
}

/**
 * /docs: the API reference rendered on the server from the app's own OpenAPI document, and the guides from
 * docs/guides/*.md, under one navigation. No script, no font, nothing from another host (the CSP says so).
 * Guides are rendered once at start, so a broken guide stops the start instead of answering 500 later.
 */
export async function registerDocs(app: HttpApp, options: DocsOptions): Promise<void> {
  const guides = await renderGuides(options);
  let reference: string | undefined;
  const sendReference = (reply: FastifyReply) => {
    // rendered at the first request: the document is complete only once every route is registered
    reference ??= renderReference(app.swagger() as unknown as OpenApiDocument);
    return reply.type(HTML).header('cache-control', CACHE).send(reference);
  };
  const hidden = { schema: { hide: true } };
  app.get('/docs', hidden, async (_request, reply) => sendReference(reply));
  app.get('/docs/', hidden, async (_request, reply) => sendReference(reply));
  app.get(DOCS_STYLESHEET_PATH, hidden, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', CACHE).send(DOCS_CSS));
  app.get<{ Params: { guide: string } }>('/docs/:guide', hidden, async (request, reply) => {
    const page = guides.get(request.params.guide);
    if (!page) return sendError(reply, 'route_not_found', `No such documentation page: /docs/${request.params.guide}`);
    return reply.type(HTML).header('cache-control', CACHE).send(page);
  });
}
