import { createHash } from 'node:crypto';
import type { AnyFastify } from './fastify-instance.js';

export interface SecurityHeaderOptions {
  /** Strict-Transport-Security; off in development, where the API is plain http on localhost. */
  hsts: boolean;
}

/** JSON answers are never a document: nothing may load from them, and no page may frame them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * /docs is Scalar's API reference: its script and stylesheet come from /docs itself, it injects a <style> element
 * and style attributes at runtime ('unsafe-inline' for styles only), fetches /openapi.json and, for "Test request",
 * this API ('self'), and loads the Inter and JetBrains Mono fonts from fonts.scalar.com, the one other host it needs
 * today (issue 14 self-hosts them; then font-src becomes 'self'). The page's inline start-up script is allowed by its
 * hash, computed from the page actually sent, so a Scalar upgrade cannot silently break or widen the policy.
 */
function docsCsp(inlineScriptHashes: readonly string[]): string {
  return [
    "default-src 'none'",
    `script-src 'self'${inlineScriptHashes.map((h) => ` '${h}'`).join('')}`,
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' https://fonts.scalar.com",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

const INLINE_SCRIPT = /<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi;

function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(INLINE_SCRIPT)].map((m) => `sha256-${createHash('sha256').update(m[1] ?? '', 'utf8').digest('base64')}`);
}

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
      const csp = isDocsPath(path) ? docsCsp(typeof payload === 'string' ? inlineScriptHashes(payload) : []) : API_CSP;
      void reply.header('content-security-policy', csp);
    }
    if (isNoStorePath(path)) void reply.header('cache-control', 'no-store');
    return payload;
  });
}
