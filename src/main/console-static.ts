import { stat } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { HttpApp } from '../platform/http/app.js';
import { sendError } from '../platform/http/error-handler.js';

/** The console's Vite build (console/vite.config.ts): the same relative place from src/main/ and dist/main/. */
export const CONSOLE_DIST_DIR = path.resolve(import.meta.dirname, '../../console/dist');

// The console loads nothing from another host, so the policy can say 'self' for everything. style-src needs
// 'unsafe-inline' because Mantine writes its CSS variables into a <style> element at runtime and components set
// style attributes; scripts stay 'self' only (no inline script: Mantine's ColorSchemeScript is not used).
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * A path inside the build, or undefined for anything that could leave it. Fastify hands the wildcard over
 * URL-decoded, so `..` and NUL are checked on the decoded form.
 */
function relativeAssetPath(wildcard: string): string | undefined {
  if (wildcard.includes('\0') || wildcard.includes('\\')) return undefined;
  const segments = wildcard.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return undefined;
  return segments.join('/');
}

function sendIndex(reply: FastifyReply): FastifyReply {
  // Never cached: a deploy changes which hashed bundle it names, and a stale copy would ask for deleted assets.
  return reply.header('cache-control', 'no-store').sendFile('index.html', { cacheControl: false });
}

/**
 * Serves the support console (a single-page app) at /console/ from its Vite build, outside /v1: these routes
 * need no auth, since the page holds no data; every call it makes goes to /v1 with the staff session. Missing
 * files under assets/ are 404; any other path is a client-side route and gets index.html.
 */
export async function registerConsole(app: HttpApp, options: { distDir?: string } = {}): Promise<void> {
  const root = options.distDir ?? CONSOLE_DIST_DIR;
  await app.register(async (scope) => {
    // serve: false — only reply.sendFile; the routes below decide what exists (SPA fallback, cache headers).
    // suppressWarning: a checkout without a console build still starts; /console/ then says how to build it.
    await scope.register(fastifyStatic, { root, serve: false, suppressWarning: true, etag: true, lastModified: true });

    scope.addHook('onSend', async (_request, reply, payload) => {
      void reply.header('content-security-policy', CONSOLE_CSP);
      void reply.header('x-frame-options', 'DENY');
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'no-referrer');
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
      return payload;
    });

    scope.get('/console', { schema: { hide: true } }, async (request, reply) => {
      const query = request.url.indexOf('?');
      return reply.redirect(`/console/${query >= 0 ? request.url.slice(query) : ''}`, 308);
    });

    scope.get('/console/*', { schema: { hide: true } }, async (request, reply) => {
      if (!(await isFile(path.join(root, 'index.html')))) {
        return sendError(reply, 'service_unavailable', 'The support console is not built on this server: run `npm run build:console` (npm start and npm run build do it).');
      }
      const rel = relativeAssetPath((request.params as { '*': string })['*'] ?? '');
      if (rel === undefined) return sendError(reply, 'route_not_found', `Unrecognized request URL (${request.method}: ${request.url.split('?')[0]}).`);
      if (rel === '' || rel === 'index.html') return sendIndex(reply);
      if (await isFile(path.join(root, rel))) {
        // Vite names every file under assets/ by its content hash: it can be cached for good.
        void reply.header('cache-control', rel.startsWith('assets/') ? IMMUTABLE : 'no-cache');
        return reply.sendFile(rel, { cacheControl: false });
      }
      // A missing script or stylesheet must fail as such, not come back as the HTML page.
      if (rel === 'assets' || rel.startsWith('assets/') || /\.[A-Za-z0-9]{1,8}$/.test(rel)) {
        return sendError(reply, 'route_not_found', `Unrecognized request URL (${request.method}: ${request.url.split('?')[0]}).`);
      }
      return sendIndex(reply);
    });
  });
}
