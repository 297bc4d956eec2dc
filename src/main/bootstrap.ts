import { randomBytes } from 'node:crypto';
import type { Config, EnvSource } from '../platform/config.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { ensureDemoTenant } from '../modules/tenants/index.js';
import { ensureDemoStaffUser } from '../modules/staff/index.js';
import type { ModuleServices } from './modules.js';

export interface BootstrapReport {
  lines: string[];
}

/**
 * Development: without NIMBUSPAY_ADMIN_CLIENT_SECRET a fresh admin secret is generated at each start; only its
 * hash is stored, and the banner shows it this once.
 */
export function withGeneratedAdminSecret(env: EnvSource): { env: EnvSource; generated: string | undefined } {
  if ((env.NIMBUSPAY_ENV ?? 'development') !== 'development' || env.NIMBUSPAY_ADMIN_CLIENT_SECRET) return { env, generated: undefined };
  const generated = `nas_${randomBytes(24).toString('base64url')}`;
  return { env: { ...env, NIMBUSPAY_ADMIN_CLIENT_SECRET: generated }, generated };
}

export const DEMO_STAFF_EMAIL = 'support@nimbuspay.local';

/** Development conveniences at start: the demo tenant, the demo staff account and ready-to-paste credentials. */
export async function runDevelopmentBootstrap(deps: {
  config: Config; logger: Logger; db: Db; services: ModuleServices; generatedAdminSecret: string | undefined;
}): Promise<BootstrapReport> {
  const { config } = deps;
  const lines: string[] = [];
  if (deps.generatedAdminSecret) {
    lines.push('', '  Platform admin client (generated for this run; set NIMBUSPAY_ADMIN_CLIENT_SECRET to keep one)',
      `    client_id      ${config.adminClientId}`,
      `    client_secret  ${deps.generatedAdminSecret}`);
  }
  if (config.demoTenant) {
    const demo = await ensureDemoTenant(deps.db, deps.services.keyRing);
    lines.push('', '  Demo tenant (a new client secret at each start)',
      `    tenant_id      ${demo.tenantId}`,
      `    client_id      ${demo.clientId}`,
      `    client_secret  ${demo.clientSecret}`,
      '', '  Get a token:',
      `    curl -s -u '${demo.clientId}:${demo.clientSecret}' -d grant_type=client_credentials ${config.publicUrl}/oauth/token`);
  }
  if (config.env === 'development' && config.staffLocalLogin) {
    const staff = await ensureDemoStaffUser({ db: deps.db, keyRing: deps.services.keyRing, now: () => new Date() }, DEMO_STAFF_EMAIL);
    lines.push('', `  Support console ${config.publicUrl}/console/ (platform_admin; a new password at each start, no TOTP in development)`,
      `    email          ${staff.email}`,
      `    password       ${staff.password}`);
  }
  return { lines };
}
