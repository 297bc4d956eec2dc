import { invalidRequest } from './stripe-errors.js';
import type { SearchClause } from './stripe-local-store.js';

/**
 * The part of Stripe's search query language the adapter uses: `metadata['key']:'value'` and `status:'value'`
 * clauses joined by `AND`. Anything else (OR, negation, ranges, fuzzy `~`) is refused rather than misread.
 */
const CLAUSE = /^\s*(?:metadata\[(['"])((?:(?!\1).)+)\1\]|(status))\s*:\s*(['"])((?:(?!\4).)*)\4\s*$/;

export function parseSearchQuery(query: string): SearchClause[] {
  if (query.trim() === '') throw invalidRequest('The query is empty.', { param: 'query' });
  const parts = query.split(/\s+AND\s+/);
  return parts.map((part) => {
    const m = CLAUSE.exec(part);
    if (!m) {
      throw invalidRequest(
        `Query is invalid or uses syntax this local server does not support: ${JSON.stringify(part.trim())}. Supported: metadata['key']:'value' and status:'value' joined by AND.`,
        { param: 'query' },
      );
    }
    // the key group takes part only in a metadata clause; the value group always does (it may be empty)
    const [, , key, , , value = ''] = m;
    return key === undefined ? { field: 'status', value } : { field: 'metadata', key, value };
  });
}

/** Stripe's `page` is an opaque cursor; here it carries the offset of the next page. */
export function encodePage(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

export function decodePage(page: string | undefined): number {
  if (page === undefined) return 0;
  const m = /^offset:(\d+)$/.exec(Buffer.from(page, 'base64url').toString());
  if (!m) throw invalidRequest('Invalid page.', { param: 'page' });
  return Number(m[1]);
}
