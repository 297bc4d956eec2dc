// Shared benchmark plumbing: a throwaway embedded PostgreSQL, platform roles as separate OS processes (as they run
// in Kubernetes), a tenant with a token, and percentile printing. Benchmarks only ever talk to loopback.
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/net.js';
import { Launcher, root } from '../test/helpers/launcher.js';
import { createLogger } from '../src/platform/logger.js';
import { runMigrations } from '../src/platform/migrations.js';
import { ensureAppLoginRole, startEmbeddedPostgres } from '../src/main/embedded-postgres.js';

export { root };
export const ADMIN_SECRET = 'bench-admin-secret-0123456789abcdef';
export const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
const APP_ROLE = 'nimbuspay_bench_app';
const APP_PASSWORD = 'nimbuspay-bench-app';


export interface BenchDatabase {
  ownerUrl: string;
  appUrl: string;
  stop(): Promise<void>;
}

/** A fresh, migrated database: embedded PostgreSQL in a temp dir, or BENCH_DATABASE_URL (owner) if given. */
export { freePort };

export async function startBenchDatabase(): Promise<BenchDatabase> {
  const logger = createLogger({ level: 'warn', name: 'bench' });
  const external = process.env.BENCH_DATABASE_URL;
  let stop = async () => {};
  let ownerUrl: string;
  if (external) {
    ownerUrl = external;
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nimbuspay-bench-'));
    await chmod(dir, 0o755);
    const pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), database: 'nimbuspay_bench', logger, persistent: false });
    ownerUrl = pg.ownerUrl;
    stop = async () => {
      await pg.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    };
    // Ctrl-C during a benchmark must not leave the throwaway cluster running
    process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  }
  await runMigrations({ connectionString: ownerUrl, logger });
  await ensureAppLoginRole(ownerUrl, APP_ROLE, APP_PASSWORD);
  const u = new URL(ownerUrl);
  u.username = APP_ROLE;
  u.password = APP_PASSWORD;
  return { ownerUrl, appUrl: u.toString(), stop };
}

export interface Role {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Every role a benchmark started (test/helpers/launcher.ts, as the fault tests start theirs). */
const roles = new Launcher();

/** Starts `nimbuspay <role>` as its own process and waits until it answers on `readyPath` (any status below 500). */
export async function startRole(
  role: 'api' | 'sandbox-processor' | 'worker',
  env: Record<string, string>,
  port: number,
  readyPath: string,
  nodeArgs: string[] = [],
): Promise<Role> {
  const url = `http://127.0.0.1:${port}`;
  const started = await roles.start({
    name: role,
    command: role,
    nodeArgs,
    ports: { role: port },
    env: () => ({ NODE_ENV: 'production', ...env }),
    ready: () => ({ url: `${url}${readyPath}`, accept: (status) => status < 500 }),
    readyTimeoutMs: 60_000,
  });
  return {
    child: started.child,
    url,
    async stop() {
      await started.stop({ graceMs: 10_000 });
    },
  };
}

/** Environment shared by the roles of a benchmark platform. */
export function platformEnv(db: BenchDatabase, ports: { api: number; sandbox: number }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NIMBUSPAY_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(ports.api),
    NIMBUSPAY_PUBLIC_URL: `http://127.0.0.1:${ports.api}`,
    DATABASE_URL: db.appUrl,
    NIMBUSPAY_MASTER_KEY: MASTER_KEY,
    NIMBUSPAY_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
    PROCESSOR_NOTIFICATION_SECRET: 'bench-notification-secret-0123456789',
    NIMBUSPAY_DEMO_TENANT: 'false',
    SANDBOX_PROCESSOR_PORT: String(ports.sandbox),
    SANDBOX_PROCESSOR_URL: `http://127.0.0.1:${ports.sandbox}`,
    // the sandbox role keeps its state in its own schema (sandbox_processor) of the benchmark's database
    SANDBOX_DATABASE_URL: db.ownerUrl,
    SANDBOX_LATENCY_MS: '0',
    ...extra,
  };
}

async function token(apiUrl: string, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${apiUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  const json = (await res.json()) as { access_token: string };
  if (!res.ok) throw new Error(`token: ${res.status} ${JSON.stringify(json)}`);
  return json.access_token;
}

/** A tenant and a client with every tenant scope, through the admin API; returns a bearer token. */
export async function createBenchTenant(apiUrl: string): Promise<{ tenantId: string; token: string }> {
  const admin = await token(apiUrl, 'platform-admin', ADMIN_SECRET);
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const tenant = (await (await fetch(`${apiUrl}/v1/admin/tenants`, { method: 'POST', headers, body: JSON.stringify({ name: 'Bench Co' }) })).json()) as { id: string };
  const client = (await (
    await fetch(`${apiUrl}/v1/admin/tenants/${tenant.id}/clients`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bench', scopes: ['payments:read', 'payments:write', 'refunds:write', 'events:read', 'webhooks:read', 'webhooks:write'] }),
    })
  ).json()) as { client_id: string; client_secret: string };
  return { tenantId: tenant.id, token: await token(apiUrl, client.client_id, client.client_secret) };
}

/** One enabled endpoint subscribed to `payment.*`: every payment event fans out to one pending delivery (no worker runs). */
export async function createPaymentWebhookEndpoint(apiUrl: string, token: string): Promise<void> {
  const res = await fetch(`${apiUrl}/v1/webhook_endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.1:9/bench-hooks', enabled_events: ['payment.*'] }),
  });
  if (res.status !== 201) throw new Error(`webhook endpoint: ${res.status} ${await res.text()}`);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number.parseInt(v, 10);
}

export function machineLine(): string {
  return `node ${process.version}, ${os.cpus().length} cpu (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
}
