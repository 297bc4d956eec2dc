import MarkdownIt from 'markdown-it';

/**
 * Markdown for our own guides. Raw HTML is off (html: false escapes it), so a guide can only produce what
 * markdown produces; headings get ids so a section can be linked.
 */
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

export function slugify(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

markdown.core.ruler.push('heading_ids', (state) => {
  const seen = new Set<string>();
  const tokens = state.tokens;
  for (const [i, token] of tokens.entries()) {
    if (token.type !== 'heading_open') continue;
    const text = tokens[i + 1]?.children?.map((c) => c.content).join('') ?? '';
    let id = slugify(text) || 'section';
    while (seen.has(id)) id = `${id}-2`;
    seen.add(id);
    token.attrSet('id', id);
  }
  return true;
});

export function renderMarkdown(source: string): string {
  return markdown.render(source);
}

/** One line of markdown (a field's description in the OpenAPI document), without a paragraph around it. */
export function renderInlineMarkdown(source: string): string {
  return markdown.renderInline(source);
}

export interface Heading {
  level: number;
  id: string;
  text: string;
}

/** The h2 headings of rendered HTML, for the page's table of contents. */
export function listHeadings(html: string): Heading[] {
  // both groups always take part in a match
  return [...html.matchAll(/<h2 id="([^"]+)">([\s\S]*?)<\/h2>/g)].map(([, id = '', text = '']) => ({
    level: 2,
    id,
    text: text.replace(/<[^>]+>/g, ''),
  }));
}

const BLOCK = /^\{\{([a-z][a-z-]*)\}\}$/m;

/**
 * Renders a guide whose source may hold generated blocks: a line `{{name}}` is replaced by blocks[name] (HTML
 * built from the code, e.g. the error codes table). An unknown name is an error, not silently left in the page.
 */
export function renderGuide(source: string, blocks: Readonly<Record<string, () => string>>): string {
  const parts = source.split(BLOCK);
  let html = '';
  // split() with one capture group alternates text and block names: text at even indices, names at odd ones
  for (const [i, part] of parts.entries()) {
    if (i % 2 === 0) {
      html += renderMarkdown(part);
      continue;
    }
    const block = blocks[part];
    if (!block) throw new Error(`unknown generated block {{${part}}}`);
    html += block();
  }
  return html;
}
