import type { Db } from '../../platform/db.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import { purgeStaleSessionsAndFlows } from './staff.repository.js';

export { registerStaffRoutes, type StaffRouteDeps } from './staff.routes.js';
export {
  createStaffSessionAuthenticator, sessionCookie, ssoStateCookie, csrfTokenFor, IDLE_TIMEOUT_MS, ABSOLUTE_TIMEOUT_MS,
  type StaffConfig, type StaffDeps,
} from './staff-sessions.js';
export { createOidcClient, roleFromClaim, CALLBACK_PATH as STAFF_SSO_CALLBACK_PATH, type OidcClient } from './oidc.service.js';
export {
  createStaffUser, disableStaffUser, ensureDemoStaffUser, listStaffUsers, type CreatedStaffUser, type StaffUsersDeps,
} from './staff-users.service.js';
export { MAX_FAILED_LOGINS, LOCKOUT_MS } from './local-login.service.js';
export { totpCode } from './totp.js';

const PURGE_BATCH = 1000;

/** Worker: drops sessions dead for over a day and SSO flows past their ten minutes. */
export function staffPurgeJob(deps: { db: Db; now?: () => Date }): WorkerJob {
  return {
    name: 'purge-staff-sessions',
    idleDelayMs: 60_000,
    runOnce: async () => {
      const n = await purgeStaleSessionsAndFlows(deps.db, (deps.now ?? (() => new Date()))(), PURGE_BATCH);
      // a full batch means there is more: go again at once; otherwise idle
      return n >= PURGE_BATCH ? n : 0;
    },
  };
}
