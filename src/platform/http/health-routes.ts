import type { Db } from '../db.js';
import { appliedMigrationVersion } from '../migrations.js';
import type { Metrics } from '../metrics.js';
import type { HttpApp } from './app.js';

export interface ReadinessState {
  /** set at SIGTERM so the load balancer stops routing here before the server stops accepting */
  shuttingDown: boolean;
}

/** Database reachable and every migration file this build ships has been applied. */
export async function checkReadiness(db: Db, expectedMigrationVersion: number): Promise<{ ok: boolean; checks: Record<string, string> }> {
  try {
    const version = await appliedMigrationVersion(db);
    if (version < expectedMigrationVersion) {
      return { ok: false, checks: { database: 'ok', migrations: `behind (at ${version}, expected ${expectedMigrationVersion})` } };
    }
    return { ok: true, checks: { database: 'ok', migrations: 'ok' } };
  } catch {
    return { ok: false, checks: { database: 'unreachable', migrations: 'unknown' } };
  }
}

export function registerHealthRoutes(
  app: HttpApp,
  deps: { db: Db; expectedMigrationVersion: number; state: ReadinessState },
): void {
  const hide = { hide: true };
  app.get('/healthz', { schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: hide }, async (_request, reply) => {
    if (deps.state.shuttingDown) return reply.code(503).send({ status: 'shutting_down' });
    const { ok, checks } = await checkReadiness(deps.db, deps.expectedMigrationVersion);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
}

export function registerMetricsRoute(app: HttpApp, metrics: Metrics): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
}
