/** A list query as the API takes it: cursor pagination, newest first. */
export interface ListParams {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

export type QueryValue = string | number | boolean | undefined;

/**
 * One page of a list, as the API answers it, that can also walk every item of every later page:
 * `for await (const payment of await np.payments.list())` follows `has_more` with `starting_after` (or, for a list
 * started with `ending_before`, towards newer objects with `ending_before`).
 */
export class Page<T extends { id: string }> implements AsyncIterable<T> {
  readonly object = 'list' as const;
  readonly data: T[];
  readonly has_more: boolean;
  // private fields, so a page serializes (JSON.stringify, console.log) as the API's list object
  readonly #query: Record<string, QueryValue>;
  readonly #fetchPage: (query: Record<string, QueryValue>) => Promise<Page<T>>;

  constructor(
    body: { data: T[]; has_more: boolean },
    query: Record<string, QueryValue>,
    fetchPage: (query: Record<string, QueryValue>) => Promise<Page<T>>,
  ) {
    this.data = body.data;
    this.has_more = body.has_more;
    this.#query = query;
    this.#fetchPage = fetchPage;
  }

  /** The next page in the direction this list walks, or undefined after the last one. */
  async nextPage(): Promise<Page<T> | undefined> {
    const newest = this.data[0];
    const oldest = this.data[this.data.length - 1];
    if (!this.has_more || !newest || !oldest) return undefined;
    if (this.#query.ending_before !== undefined) {
      // pages towards newer objects are still returned newest first: the next one ends before this one's newest
      return this.#fetchPage({ ...this.#query, starting_after: undefined, ending_before: newest.id });
    }
    return this.#fetchPage({ ...this.#query, starting_after: oldest.id });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> | undefined = this;
    while (page) {
      const items = page.#query.ending_before !== undefined ? [...page.data].reverse() : page.data;
      for (const item of items) yield item;
      page = await page.nextPage();
    }
  }

  /** Every item across pages, up to `max` (a guard against reading a huge list into memory by accident). */
  async toArray(options: { max: number }): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) {
      if (out.length >= options.max) break;
      out.push(item);
    }
    return out;
  }
}

/** The promise `list()` returns: await it for the first page, or iterate it directly with `for await`. */
export type PagePromise<T extends { id: string }> = Promise<Page<T>> & AsyncIterable<T>;

export function pagePromise<T extends { id: string }>(first: Promise<Page<T>>): PagePromise<T> {
  return Object.assign(first, {
    async *[Symbol.asyncIterator]() {
      yield* await first;
    },
  });
}
