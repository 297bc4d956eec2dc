/** The shell every /docs page shares: one stylesheet from /docs itself, the navigation, no script. */

export interface GuideEntry {
  slug: string;
  title: string;
}

/** The guides, in navigation order; each is docs/guides/<slug>.md, served at /docs/<slug>. */
export const GUIDES: readonly GuideEntry[] = [
  { slug: 'quickstart', title: 'Quick start' },
  { slug: 'authentication', title: 'Authentication' },
  { slug: 'idempotency', title: 'Idempotency' },
  { slug: 'errors', title: 'Errors' },
  { slug: 'testing', title: 'Test cards and accounts' },
  { slug: 'webhooks', title: 'Webhooks' },
  { slug: 'bank-transfers', title: 'Bank transfers' },
  { slug: 'going-live', title: 'Going live' },
];

export const DOCS_STYLESHEET_PATH = '/docs/assets/docs.css';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c); // the pattern matches only ESCAPES' keys
}

function navigation(current: string): string {
  const item = (href: string, title: string, key: string) =>
    `<li><a href="${href}"${key === current ? ' aria-current="page"' : ''}>${escapeHtml(title)}</a></li>`;
  return [
    '<nav class="docs-nav" aria-label="Documentation">',
    '<p class="docs-brand"><a href="/docs">NimbusPay docs</a></p>',
    '<ul>',
    item('/docs', 'API reference', 'reference'),
    '</ul>',
    '<p class="docs-nav-heading">Guides</p>',
    '<ul>',
    ...GUIDES.map((g) => item(`/docs/${g.slug}`, g.title, g.slug)),
    '</ul>',
    '<p class="docs-nav-heading">Machine-readable</p>',
    '<ul><li><a href="/openapi.json">OpenAPI 3.1 document</a></li></ul>',
    '</nav>',
  ].join('\n');
}

/** A whole HTML page; `body` is trusted HTML we rendered ourselves, `title` is text. */
export function renderPage(options: { title: string; current: string; body: string; aside?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} · NimbusPay</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DOCS_STYLESHEET_PATH}">
</head>
<body>
<div class="docs-layout">
${navigation(options.current)}
<main class="docs-main">
${options.body}
</main>
${options.aside ? `<aside class="docs-aside">${options.aside}</aside>` : ''}
</div>
</body>
</html>
`;
}
