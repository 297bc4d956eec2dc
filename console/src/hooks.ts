import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, ApiError } from './api';

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload(): void;
}

/** GET `path` whenever it (or the query) changes; `path === null` waits. Stale answers are dropped. */
export function useApi<T>(path: string | null, query?: Record<string, string | undefined>): ApiState<T> {
  const key = path === null ? null : JSON.stringify([path, query ?? {}]);
  const [state, setState] = useState<{ key: string | null; data?: T; error?: ApiError }>({ key: null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (path === null || key === null) return;
    let cancelled = false;
    api.get<T>(path, query).then(
      (data) => { if (!cancelled) setState({ key, data }); },
      (error: unknown) => {
        if (cancelled) return;
        const err = error instanceof ApiError ? error : new ApiError(0, { type: 'api_error', code: 'client_error', message: String(error) });
        setState({ key, error: err });
      },
    );
    return () => { cancelled = true; };
    // `key` captures path and query by value (deliberately not path and query themselves)
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    loading: key !== null && (!current || (state.data === undefined && state.error === undefined)),
    reload,
  };
}

/** Filters and cursors live in the URL query so a page can be shared as a link. */
export function useUrlFilters<K extends string>(keys: readonly K[]): {
  values: Record<K, string>;
  set(changes: Partial<Record<K | 'starting_after' | 'ending_before', string | undefined>>, options?: { keepCursor?: boolean }): void;
  cursor: { starting_after?: string; ending_before?: string };
} {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>;
  const cursor: { starting_after?: string; ending_before?: string } = {};
  const sa = params.get('starting_after');
  const eb = params.get('ending_before');
  if (sa) cursor.starting_after = sa;
  if (eb) cursor.ending_before = eb;
  const set = useCallback((changes: Partial<Record<string, string | undefined>>, options?: { keepCursor?: boolean }) => {
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      // a new filter starts from the first page
      if (!options?.keepCursor) { next.delete('starting_after'); next.delete('ending_before'); }
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined || v === '') next.delete(k);
        else next.set(k, v);
      }
      return next;
    });
  }, [setParams]);
  return { values, set, cursor };
}

/**
 * A filter form's draft: typed into freely, applied to the URL on submit, and reset when the URL changes (a shared
 * link, Back, or Clear).
 */
export function useFilterDraft<K extends string>(values: Record<K, string>): {
  draft: Record<string, string>;
  field(key: K): { value: string; onChange(e: { currentTarget: { value: string } }): void };
} {
  const [draft, setDraft] = useState<Record<string, string>>(values);
  // reset when the values change by content, not by object identity (a new object every render)
  useEffect(() => setDraft(values), [JSON.stringify(values)]);
  const field = (key: K) => ({
    value: draft[key] ?? '',
    onChange: (e: { currentTarget: { value: string } }) => setDraft({ ...draft, [key]: e.currentTarget.value }),
  });
  return { draft, field };
}
