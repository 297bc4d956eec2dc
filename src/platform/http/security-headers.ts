import type { AnyFastify } from './fastify-instance.js';

export interface SecurityHeaderOptions {
  /** Strict-Transport-Security; off in development, where the API is plain http on localhost. */
  hsts: boolean;
}

/** JSON answers are never a document: nothing may load from them, and no page may frame them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * /docs is rendered on the server (src/docs): HTML and one stylesheet from /docs itself, no script, no font, no
 * inline style, nothing from another host.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The headers every answer carries, whoever wrote it (Fastify, a plugin, or the raw client-error path). */
export function baseSecurityHeaders(options: SecurityHeaderOptions): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    ...(options.hsts ? { 'strict-transport-security': HSTS } : {}),
  };
}

/** API answers carry payment data: no browser, proxy or CDN may keep a copy, errors included. */
export function isNoStorePath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/') || path === '/oauth' || path.startsWith('/oauth/');
}

function isDocsPath(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/');
}

/**
 * One onSend hook on the root app, so it runs first and a scope with a policy of its own (the console) sets its
 * CSP after it; a CSP already on the reply is never replaced.
 */
export function registerSecurityHeaders(app: AnyFastify, options: SecurityHeaderOptions): void {
  const base = baseSecurityHeaders(options);
  app.addHook('onSend', async (request, reply, payload) => {
    const path = request.url.split('?')[0] ?? '/';
    void reply.headers(base);
    if (!reply.hasHeader('content-security-policy')) {
      const csp = isDocsPath(path) ? DOCS_CSP : API_CSP;
      void reply.header('content-security-policy', csp);
    }
    if (isNoStorePath(path)) void reply.header('cache-control', 'no-store');
    return payload;
  });
}
