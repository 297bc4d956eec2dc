import type { Db } from '../../platform/db.js';
import type { WorkerJob } from '../../platform/worker-loop.js';
import {
  checkClientSecret, loadClientCredentials, type AuthenticatedClient, type ClientCredentials, type ClientSecretDeps,
} from '../tenants/index.js';
import { purgeExpiredFailures, refundAttempt, reserveAttempt, settleSuccess, type Reservation, type ThrottlePolicy } from './client-auth.repository.js';
import { WorkLimitBusyError, type WorkLimit } from '../../platform/work-limit.js';

export type { ThrottlePolicy, FailureLimit } from './client-auth.repository.js';

/**
 * Per client id and address: 5 failures in 5 minutes lock that id from that address for a minute. Client ids are
 * not secret, so a lock keyed on the id alone would let anyone keep any client (platform admin included) from
 * getting tokens; the address is the one the trusted proxy reports (TRUST_PROXY_HOPS), never the client-supplied
 * end of X-Forwarded-For.
 *
 * Per address, whatever the id: 100 failures in 5 minutes lock the address for 5 minutes. This is what stops one
 * address spraying random ids: each costs only an HMAC, but still a database write. Honest integrations fail a
 * handful of times at most (a wrong secret after a rotation); 100 leaves room for many of them behind one NAT.
 */
export const DEFAULT_THROTTLE: ThrottlePolicy = {
  client: { maxFailures: 5, windowMs: 5 * 60_000, lockMs: 60_000 },
  address: { maxFailures: 100, windowMs: 5 * 60_000, lockMs: 5 * 60_000 },
};

/** Work refused for lack of capacity is worth retrying almost at once. */
const BUSY_RETRY_AFTER_SECONDS = 1;

export interface ClientAuthDeps extends ClientSecretDeps {
  hashWork: WorkLimit;
  /**
   * The database part of authentications (reservation and lookup) in progress at once in this process, each
   * holding one pooled connection at a time: a flood of failing attempts then occupies a few connections, never the
   * whole pool payments need. Hashing happens outside it, so slow legacy hashes never hold these slots.
   */
  admission: WorkLimit;
  policy: ThrottlePolicy;
  now: () => Date;
}

export type ClientAuthOutcome =
  | { outcome: 'authenticated'; client: AuthenticatedClient }
  /** wrong secret, unknown or revoked client: one answer for all, so it reveals nothing */
  | { outcome: 'invalid_client'; reason: 'invalid' | 'revoked' }
  /** the secret is right, but the client's tenant is suspended */
  | { outcome: 'unauthorized_client' }
  | { outcome: 'throttled'; by: 'client' | 'address'; retryAfterSeconds: number }
  | { outcome: 'busy'; retryAfterSeconds: number };

/**
 * The token endpoint's client authentication: reserve the attempt (refused before any hash work when the address
 * or the client id from it is locked) and look the client up, within `admission`; verify the secret; then give the
 * attempt back if it was not a failure.
 */
export async function authenticateTokenClient(deps: ClientAuthDeps, clientId: string, secret: string, source: string): Promise<ClientAuthOutcome> {
  let admitted: Awaited<ReturnType<typeof reserveAndLoad>>;
  try {
    admitted = await deps.admission.run(() => reserveAndLoad(deps, clientId, source));
  } catch (err) {
    // refused before anything was reserved
    if (err instanceof WorkLimitBusyError) return { outcome: 'busy', retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS };
    throw err;
  }
  const { now } = admitted;
  if (!('credentials' in admitted)) {
    const { by, lockedUntil } = admitted.reservation;
    const lockMs = by === 'client' ? deps.policy.client.lockMs : deps.policy.address.lockMs;
    // a lock committed by a parallel request may be newer than the statement's snapshot: then assume a full lock
    const until = lockedUntil && lockedUntil > now ? lockedUntil.getTime() : now.getTime() + lockMs;
    return { outcome: 'throttled', by, retryAfterSeconds: Math.max(1, Math.ceil((until - now.getTime()) / 1000)) };
  }
  const { reservation, credentials } = admitted;
  let result: Awaited<ReturnType<typeof checkClientSecret>>;
  try {
    result = await checkClientSecret(deps, credentials, secret);
  } catch (err) {
    // Nothing was verified, so nothing may count as a failure: refusing work must never lock anyone out. Best
    // effort: if the database is what failed, the refund fails too and the original error is the one to report.
    await refundAttempt(deps.db, clientId, source, reservation, deps.policy).catch(() => undefined);
    if (err instanceof WorkLimitBusyError) return { outcome: 'busy', retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS };
    throw err;
  }
  if (result.ok) {
    await settleSuccess(deps.db, clientId, source, reservation, deps.policy);
    return { outcome: 'authenticated', client: result.client };
  }
  if (result.reason === 'tenant_suspended') {
    await settleSuccess(deps.db, clientId, source, reservation, deps.policy);
    return { outcome: 'unauthorized_client' };
  }
  // the reservation stays: it is the failure
  return { outcome: 'invalid_client', reason: result.reason };
}

/** The admitted part: its clock reading is taken once admitted, not before a wait in the queue. */
async function reserveAndLoad(deps: ClientAuthDeps, clientId: string, source: string): Promise<
  | { now: Date; reservation: Extract<Reservation, { reserved: false }> }
  | { now: Date; reservation: Extract<Reservation, { reserved: true }>; credentials: ClientCredentials }
> {
  const now = deps.now();
  const reservation = await reserveAttempt(deps.db, clientId, source, deps.policy, now);
  if (!reservation.reserved) return { now, reservation };
  try {
    return { now, reservation, credentials: await loadClientCredentials(deps.db, clientId) };
  } catch (err) {
    await refundAttempt(deps.db, clientId, source, reservation, deps.policy).catch(() => undefined);
    throw err;
  }
}

const PURGE_BATCH = 1000;

/** Worker: failure rows whose window and lock have passed go, in batches (busy until none is left). */
export function clientAuthPurgeJob(deps: { db: Db; policy?: ThrottlePolicy; now?: () => Date }): WorkerJob {
  return {
    name: 'purge-client-auth-failures',
    idleDelayMs: 60_000,
    // busy (go again at once) while a pass deletes anything: either table may have had a full batch
    runOnce: () => purgeExpiredFailures(deps.db, deps.policy ?? DEFAULT_THROTTLE, (deps.now ?? (() => new Date()))(), PURGE_BATCH),
  };
}
