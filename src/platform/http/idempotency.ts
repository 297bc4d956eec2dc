import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { withTenantTx, type Db, type Tx } from '../db.js';
import { AppError, ERROR_CODES, errorBody, errorDocUrl, type ErrorCode } from '../errors.js';
import { canonicalJson } from '../canonical-json.js';
import {
  claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, type ClaimRequest, type ClaimRow,
} from '../idempotency.repository.js';

/**
 * Idempotency-Key (IETF draft-ietf-httpapi-idempotency-key-header, with Stripe's semantics) for POSTs that move
 * money. The key is claimed in a committed transaction before the request does anything outside the database (its
 * own statement, or the handler's first one with `claimInHandler`; one implementation, the SQL function
 * `claim_idempotency_key`), so a concurrent duplicate sees it:
 * - same key, same request, completed  → the stored status and body, with `Idempotent-Replayed: true`;
 * - same key while the first still runs → 409 `idempotency_key_in_use`;
 * - same key, different request         → 422 `idempotency_key_reused`.
 * Requests refused before execution (auth, schema validation) never reach this and store nothing. The request is
 * remembered only as a keyed HMAC: the body may hold a card number and is never stored.
 *
 * A claim whose lease expired (the process died mid-request) is taken over and the handler runs again; handlers
 * must therefore be resumable: creating handlers look up the object created under the same key first. A request
 * that fails with a 5xx after creating its object keeps its record the same way (lease ended), so only the same
 * request can resume it; one that created nothing frees the key.
 *
 * Records are purged after the retention (IDEMPOTENCY_KEY_TTL_HOURS), but the object a key created keeps the key
 * (payments and refunds, UNIQUE per tenant), and `object_created_under_key` (SQL, migration 0010) finds it. A key with no record whose
 * object exists therefore answers 409 `idempotency_key_expired` naming that object, whatever the body and the path:
 * without the record we can no longer tell a retry from a new request, and a money platform must neither create a
 * second object under one key nor present the old one as a new answer. Nothing is stored for that answer. A
 * takeover never asks: its record exists, so an object under its key is its own.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const MAX_KEY_LENGTH = 255;

export interface IdempotencySettings {
  db: Db;
  /** HMAC key for request fingerprints (from the key ring, purpose `idempotency-fingerprint`). */
  fingerprintKey: Buffer;
  /** How long a running request holds its key before another may take it over; longer than any request. */
  leaseMs: number;
  /** What the purge job keeps records for (hours): named in the answer to a key whose record is gone. */
  retentionHours: number;
}

/** The object a key created (for `idempotency_key_expired`): what the client can retrieve instead. */
export interface KeyBinding {
  id: string;
  /** How the message names the object when its id alone would not say enough, e.g. `re_… (a refund of pay_…)`. */
  label?: string;
  createdAt: Date;
  /** e.g. `/v1/payments/pay_…` */
  retrievePath: string;
}

export interface IdempotentResult {
  status: number;
  body: unknown;
}

export interface IdempotencyContext {
  /** The client's key, for handlers that record it on the object they create (resumability). */
  key: string;
  /**
   * Stores the final answer inside the handler's last transaction, so the state change and its idempotent answer
   * commit together (and the request saves a transaction). Optional: without it the answer is stored afterwards.
   */
  complete(tx: Tx, result: IdempotentResult): Promise<void>;
  /**
   * With `claimInHandler`, the handler MUST call this (or claim through `claimRequest`) first in its first
   * transaction; it throws (rolling that transaction back) when the key belongs to another request. A no-op
   * otherwise. `takeover` says whether the request took over an earlier claim of the same request (which may have
   * created its object): only then does a creating handler need to look for that object, since a fresh claim has
   * already checked that none exists.
   */
  claim(tx: Tx): Promise<{ takeover: boolean }>;
  /**
   * With `claimInHandler`, what a handler whose first statement is a SQL function calling `claim_idempotency_key`
   * passes it; the handler then hands the claim's columns to `acceptClaim`, which throws when the key is not ours
   * (nothing was written: the function creates only on a claim).
   */
  claimRequest: ClaimRequest;
  acceptClaim(row: ClaimRow): { takeover: boolean };
  /**
   * The handler's last statement stored `result` as the key's answer itself (its body serialised once, there):
   * runIdempotent sends it as it is and stores nothing more.
   */
  answerStored(result: IdempotentResult): void;
}

/** The object `object_created_under_key` found: what the client created under the key. */
export interface CreatedUnderKey {
  object: string;
  id: string;
  payment_id: string;
  created_at: Date;
}


export function readIdempotencyKey(request: FastifyRequest): string {
  const raw = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined || raw === '') {
    throw new AppError('idempotency_key_missing', 'This request moves money: send an Idempotency-Key header (e.g. a UUID).', { param: 'Idempotency-Key' });
  }
  if (Array.isArray(raw)) throw new AppError('idempotency_key_invalid', 'Send exactly one Idempotency-Key header.', { param: 'Idempotency-Key' });
  if (raw.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new AppError('idempotency_key_invalid', `Idempotency-Key must be 1–${MAX_KEY_LENGTH} visible ASCII characters.`, { param: 'Idempotency-Key' });
  }
  return raw;
}

function jsonSafe(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
}

type Claim =
  | { kind: 'claimed'; takeover: boolean }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' }
  | { kind: 'expired'; binding: KeyBinding }
  | { kind: 'replay'; status: number; body: unknown };

/** Thrown by `ctx.claim` inside the handler's first transaction (rolling it back) when the key is not ours. */
class KeyNotClaimed extends Error {
  constructor(readonly claim: Exclude<Claim, { kind: 'claimed' }>) {
    super('idempotency key not claimed');
  }
}

export interface RunIdempotentOptions {
  /**
   * Names the object created under this tenant's key (found by `object_created_under_key`, which looks in every
   * table that records keys) for the client. Asked only when no record held the key: that is what tells an expired
   * key from a new one.
   */
  describeBinding: (created: CreatedUnderKey) => KeyBinding;
  /**
   * The handler claims the key itself, as the first statement of its first transaction (`ctx.claim(tx)`, or a
   * function of its own calling `claim_idempotency_key` with `ctx.claimRequest`), instead of in a statement of its
   * own: a concurrent duplicate waits on the key row until that transaction commits and then sees it. For the
   * hottest path (payment creation) this saves a round trip per request.
   */
  claimInHandler?: boolean;
}

function toClaim(row: ClaimRow, describeBinding: RunIdempotentOptions['describeBinding']): Claim {
  switch (row.outcome) {
    case 'claimed':
      return { kind: 'claimed', takeover: false };
    case 'taken_over':
      return { kind: 'claimed', takeover: true };
    case 'mismatch':
      return { kind: 'mismatch' };
    case 'in_flight':
      return { kind: 'in_flight' };
    case 'replay':
      // a completed record always has its status (idempotency_keys CHECK: completed = response_status set)
      if (row.response_status === null) throw new Error('claim_idempotency_key answered replay without a response status');
      return { kind: 'replay', status: row.response_status, body: row.response_body };
    case 'expired': {
      // `expired` means object_created_under_key found the object, whose columns are all set
      const { bound_object: object, bound_id: id, bound_payment_id: paymentId, bound_created_at: createdAt } = row;
      if (object === null || id === null || paymentId === null || createdAt === null) {
        throw new Error('claim_idempotency_key answered expired without the object created under the key');
      }
      return { kind: 'expired', binding: describeBinding({ object, id, payment_id: paymentId, created_at: createdAt }) };
    }
  }
}

/**
 * Runs `execute` at most once per (tenant, key) and answers the request. AppErrors thrown by `execute` are stored
 * and replayed like any result (the request did execute), except 5xx ones: those mean "nothing was done, try again",
 * so the key is released and the same key may be retried.
 */
export async function runIdempotent(
  settings: IdempotencySettings,
  tenantId: string,
  request: FastifyRequest,
  reply: FastifyReply,
  execute: (ctx: IdempotencyContext) => Promise<IdempotentResult>,
  options: RunIdempotentOptions,
): Promise<FastifyReply> {
  const key = readIdempotencyKey(request);
  const claimRequest: ClaimRequest = {
    key,
    method: request.method,
    path: request.routeOptions.url ?? request.url,
    requestHash: createHmac('sha256', settings.fingerprintKey)
      .update(`${request.method}\n${request.url}\n${canonicalJson(request.body ?? null)}`)
      .digest('base64url'),
    leaseMs: settings.leaseMs,
  };

  const answer = (claim: Exclude<Claim, { kind: 'claimed' }>): FastifyReply => {
    switch (claim.kind) {
      case 'mismatch':
        throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request; use a new key.', { param: 'Idempotency-Key' });
      case 'in_flight':
        throw new AppError('idempotency_key_in_use', 'A request with this Idempotency-Key is still being processed; retry later.', { param: 'Idempotency-Key', headers: { 'retry-after': '1' } });
      case 'expired': {
        const { binding } = claim;
        throw new AppError('idempotency_key_expired',
          `This Idempotency-Key created ${binding.label ?? binding.id} on ${binding.createdAt.toISOString()}; its stored answer expired after ${settings.retentionHours} hours. ` +
          `Retrieve the object with GET ${binding.retrievePath}, or send a new key for a new request.`,
          { param: 'Idempotency-Key' });
      }
      case 'replay':
        void reply.header('idempotent-replayed', 'true');
        return reply.code(claim.status).send(withDocUrl(claim.body, request.server.publicUrl ?? ''));
    }
  };

  let preClaimed: Extract<Claim, { kind: 'claimed' }> | undefined;
  if (!options.claimInHandler) {
    const claimed = toClaim(await claimIdempotencyKey(settings.db, tenantId, claimRequest), options.describeBinding);
    if (claimed.kind !== 'claimed') return answer(claimed);
    preClaimed = claimed;
  }
  const acceptClaim = (row: ClaimRow): { takeover: boolean } => {
    const claimed = toClaim(row, options.describeBinding);
    if (claimed.kind !== 'claimed') throw new KeyNotClaimed(claimed);
    return { takeover: claimed.takeover };
  };
  const claim = async (tx: Tx): Promise<{ takeover: boolean }> => {
    if (preClaimed) return { takeover: preClaimed.takeover };
    return acceptClaim(await claimIdempotencyKey(tx, tenantId, claimRequest));
  };

  let result: IdempotentResult;
  let storedInTx: IdempotentResult | undefined;
  const complete = async (tx: Tx, done: IdempotentResult): Promise<void> => {
    const stored = { status: done.status, body: jsonSafe(done.body) };
    await completeIdempotencyKey(tx, tenantId, key, stored);
    storedInTx = stored;
  };
  const answerStored = (done: IdempotentResult): void => {
    storedInTx = done;
  };
  try {
    result = await execute({ key, complete, claim, claimRequest, acceptClaim, answerStored });
  } catch (err) {
    if (err instanceof KeyNotClaimed) return answer(err.claim);
    if (err instanceof AppError && err.status < 500) {
      result = { status: err.status, body: errorBody(err.code, err.message, { param: err.options.param, requestId: request.id, publicUrl: request.server.publicUrl ?? '' }) };
      await completeKey(settings.db, tenantId, key, result);
    } else {
      await releaseIdempotencyKey(settings.db, tenantId, key).catch((releaseErr: unknown) => request.log.error({ err: releaseErr }, 'could not release idempotency key'));
    }
    throw err;
  }
  if (storedInTx) return reply.code(storedInTx.status).send(storedInTx.body);
  const body = jsonSafe(result.body);
  await completeKey(settings.db, tenantId, key, { status: result.status, body });
  return reply.code(result.status).send(body);
}

/**
 * An error answer stored before errors carried `doc_url` gets it on replay: the error object documents it as
 * always present (and the response serializer requires it).
 */
function withDocUrl(body: unknown, publicUrl: string): unknown {
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!error || typeof error !== 'object' || error.doc_url !== undefined || typeof error.code !== 'string' || !Object.hasOwn(ERROR_CODES, error.code)) return body;
  return { error: { ...error, doc_url: errorDocUrl(publicUrl, error.code as ErrorCode) } };
}

async function completeKey(db: Db, tenantId: string, key: string, result: IdempotentResult): Promise<void> {
  await withTenantTx(db, tenantId, (tx) => completeIdempotencyKey(tx, tenantId, key, result));
}
