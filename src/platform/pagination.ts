/**
 * Cursor pagination, Stripe-style: newest first; `starting_after` pages to older objects, `ending_before` to newer.
 * Pure cursor logic for services and repositories; the HTTP schemas that validate these fields are in
 * http/pagination.ts.
 */
export interface PageQuery {
  limit: number;
  starting_after?: string | undefined;
  ending_before?: string | undefined;
}

export interface PageWindow {
  op: '<' | '>';
  cursor: string | undefined;
  order: 'asc' | 'desc';
  /** one more than the page, to learn has_more without a count */
  take: number;
}

export function pageWindow(q: PageQuery): PageWindow {
  if (q.ending_before !== undefined) return { op: '>', cursor: q.ending_before, order: 'asc', take: q.limit + 1 };
  return { op: '<', cursor: q.starting_after, order: 'desc', take: q.limit + 1 };
}

export function toPage<T>(rows: T[], q: Pick<PageQuery, 'limit' | 'ending_before'>): { data: T[]; has_more: boolean } {
  const has_more = rows.length > q.limit;
  const data = rows.slice(0, q.limit);
  if (q.ending_before !== undefined) data.reverse();
  return { data, has_more };
}
