/**
 * The console's only way to the API: same-origin fetch with the session cookie. The CSRF token lives in this
 * module's memory only (never localStorage/sessionStorage): a reload fetches it again from /v1/staff/session.
 */

export interface ApiErrorBody {
  type: string;
  code: string;
  message: string;
  param?: string;
  request_id?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | undefined;
  readonly requestId: string | undefined;
  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.param = body.param;
    this.requestId = body.request_id;
  }
}

export type StaffRole = 'support_agent' | 'support_operator' | 'platform_admin';
export type Environment = 'development' | 'staging' | 'production';

export interface StaffSession {
  object: 'staff_session';
  id: string;
  staff: { id: string; email: string; display_name: string; role: StaffRole };
  scopes: string[];
  csrf_token: string;
  auth_method: 'password' | 'oidc';
  created_at: string;
  idle_expires_at: string;
  absolute_expires_at: string;
  environment: Environment;
}

export interface ListResponse<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

let csrfToken: string | null = null;
let onUnauthenticated: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called on any 401 from an authenticated call, so the app can go back to the login page. */
export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}

type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

async function call<T>(method: string, path: string, options: { body?: unknown; query?: Query; public?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(withQuery(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch {
    throw new ApiError(0, { type: 'network_error', code: 'network_error', message: 'The API could not be reached. Check your connection and try again.' });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const body = (json as { error?: ApiErrorBody } | undefined)?.error
      ?? { type: 'api_error', code: 'http_error', message: `The API answered HTTP ${res.status}.`, request_id: res.headers.get('x-request-id') ?? undefined };
    const error = new ApiError(res.status, body);
    if (res.status === 401 && !options.public) onUnauthenticated?.();
    throw error;
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => call<T>('GET', path, query ? { query } : {}),
  post: <T>(path: string, body?: unknown) => call<T>('POST', path, body === undefined ? {} : { body }),
  /** Login-page calls: a 401 there is an answer to show, not a reason to redirect. */
  publicGet: <T>(path: string, query?: Query) => call<T>('GET', path, { public: true, ...(query ? { query } : {}) }),
  publicPost: <T>(path: string, body?: unknown) => call<T>('POST', path, { public: true, ...(body === undefined ? {} : { body }) }),
};
