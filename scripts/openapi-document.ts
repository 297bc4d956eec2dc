import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/platform/config.js';
import { createDb } from '../src/platform/db.js';
import { createLogger } from '../src/platform/logger.js';
import { buildApi } from '../src/main/api.js';

/**
 * The API's OpenAPI document, built from the real app (every module's routes and schemas) without a database or
 * network: the DbHandle's pool points nowhere and is never queried, and the
 * master key is a throwaway one (nothing is encrypted or signed) (`documentOnly` skips the start-up queries).
 */
export async function buildOpenApiDocument(env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const config = loadConfig({ NIMBUSPAY_ENV: 'development', LOG_LEVEL: 'silent', NIMBUSPAY_MASTER_KEY: randomBytes(32).toString('base64'), ...env });
  const database = createDb({ connectionString: 'postgres://openapi-export@127.0.0.1:1/never-queried', max: 1, applicationName: 'openapi-export' });
  const logger = createLogger({ level: "silent" });
  try {
    const runtime = await buildApi({ config, logger, database, documentOnly: true });
    try {
      return stableOrder(runtime.app.swagger() as unknown as Record<string, unknown>);
    } finally {
      await runtime.app.close();
      await runtime.services.close();
    }
  } finally {
    await database.close();
  }
}

function sortKeys<T>(map: Record<string, T> | undefined): Record<string, T> | undefined {
  if (!map) return map;
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Maps whose order means nothing (paths, each components section) sorted by key; the order inside a schema or an
 * operation is the source code's, which is already deterministic.
 */
export function stableOrder(doc: Record<string, unknown>): Record<string, unknown> {
  const out = { ...doc };
  out.paths = sortKeys(doc.paths as Record<string, unknown>);
  const components = doc.components as Record<string, Record<string, unknown>> | undefined;
  if (components) out.components = sortKeys(Object.fromEntries(Object.entries(components).map(([k, v]) => [k, sortKeys(v)])));
  return out;
}
