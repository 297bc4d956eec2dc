import { randomBytes } from 'node:crypto';
import type { Config, EnvSource } from '../platform/config.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { ensureDemoTenant } from '../modules/tenants/index.js';
import { ensureDemoStaffUser } from '../modules/staff/index.js';
import type { ModuleServices } from './modules.js';
import { LOCAL_PROFILE, writeProfile, type ProfileEnv } from '../cli/profile.js';
import { exportLines } from '../cli/profile-env.js';

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
  /** Where the CLI's profile file is (NIMBUSPAY_CONFIG_DIR, XDG_CONFIG_HOME, HOME). */
  profileEnv: ProfileEnv;
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
      ...demoProfileLines(deps, { url: config.publicUrl, clientId: demo.clientId, clientSecret: demo.clientSecret }),
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

/**
 * Development: the demo client becomes the CLI's "local" profile (refreshed at each start, since its secret is new),
 * the default only when no other profile is; and the banner gives the same credentials as lines to paste.
 * A profile that cannot be written (a read-only home, a broken file) is reported, not fatal.
 */
function demoProfileLines(deps: { config: Config; logger: Logger; profileEnv: ProfileEnv }, demo: { url: string; clientId: string; clientSecret: string }): string[] {
  const lines = ['', '  In another shell, paste:', ...exportLines(demo).map((l) => `    ${l}`)];
  if (deps.config.env !== 'development') return lines;
  try {
    const saved = writeProfile(deps.profileEnv, LOCAL_PROFILE, { url: demo.url, client_id: demo.clientId, client_secret: demo.clientSecret }, { makeDefault: 'if-none' });
    lines.push(`  or run: eval "$(npx nimbuspay env --profile ${LOCAL_PROFILE})"`,
      `  (the CLI profile "${LOCAL_PROFILE}"${saved.isDefault ? ', the default,' : ''} was written to ${saved.path})`);
  } catch (err) {
    deps.logger.warn({ err: { message: (err as Error).message } }, 'the local CLI profile was not written');
    lines.push(`  (the CLI profile "${LOCAL_PROFILE}" was not written: ${(err as Error).message})`);
  }
  return lines;
}
