import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxDb, SandboxTx } from './store/sandbox-db.js';
import { findOperation, insertOperation, lockIdempotencyKey } from './store/sandbox-operations.repository.js';
import { fingerprintRequest, judgeIdempotencyKey, type WireAnswer, type WireOperation } from './sandbox-records.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function errorAnswer(statusCode: number, error: string, message: string): WireAnswer {
  return { statusCode, body: { error, message } };
}

export function sendAnswer(reply: FastifyReply, answer: WireAnswer, replayed = false): FastifyReply {
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(answer.statusCode).send(answer.body);
}

/**
 * What an operation handler decided. `record: true` stores the answer under the idempotency key (decisions:
 * approvals and declines); validation and state errors are not recorded so the client may fix and resend.
 * `holdMs` delays the answer after recording (lost-response simulation).
 */
export interface OperationResult {
  answer: WireAnswer;
  record: boolean;
  holdMs?: number;
  /** Runs once the recorded result is committed (never for an unrecorded one). */
  afterCommit?: () => void;
}

export interface IdempotentOperation {
  db: SandboxDb;
  request: FastifyRequest;
  reply: FastifyReply;
  operation: WireOperation;
  /** The resource the operation acts on ('' when it creates one). */
  target: string;
  body: unknown;
  nowMs: () => number;
  hold: (ms: number) => Promise<boolean>;
  /**
   * Runs inside the transaction that holds the key's lock, after the key check. Its writes are kept only when the
   * result is recorded, so an unrecorded answer leaves nothing behind.
   */
  execute: (tx: SandboxTx, idempotencyKey: string) => Promise<OperationResult>;
}

/** Carries an unrecorded result out of the transaction callback, which rolls the transaction back. */
class UnrecordedResult extends Error {
  constructor(readonly result: OperationResult) {
    super('unrecorded sandbox operation');
  }
}

type Decided = { kind: 'replay' | 'conflict'; answer: WireAnswer } | { kind: 'executed'; result: OperationResult };

async function decide(op: IdempotentOperation, key: string): Promise<Decided> {
  const fingerprint = fingerprintRequest(op.operation, op.target, op.body);
  try {
    return await op.db.transaction().execute(async (tx): Promise<Decided> => {
      // Until commit, a concurrent request with this key (on any replica) waits here, then replays our answer.
      await lockIdempotencyKey(tx, key);
      const existing = judgeIdempotencyKey(await findOperation(tx, key), op.operation, fingerprint);
      if (existing.kind !== 'new') return existing;
      const result = await op.execute(tx, key);
      if (!result.record) throw new UnrecordedResult(result);
      await insertOperation(tx, {
        idempotencyKey: key,
        operation: op.operation,
        fingerprint,
        statusCode: result.answer.statusCode,
        body: result.answer.body,
        createdAtMs: op.nowMs(),
      });
      return { kind: 'executed', result };
    });
  } catch (err) {
    if (err instanceof UnrecordedResult) return { kind: 'executed', result: err.result };
    throw err;
  }
}

/**
 * Same key + same request → the recorded answer (never a second execution); same key + different request → 422.
 */
export async function runIdempotentOperation(op: IdempotentOperation): Promise<FastifyReply> {
  const rawKey = op.request.headers['idempotency-key'];
  const key = typeof rawKey === 'string' ? rawKey : undefined;
  if (key === undefined || !KEY_PATTERN.test(key)) {
    return sendAnswer(
      op.reply,
      errorAnswer(400, 'missing_idempotency_key', 'An Idempotency-Key header (1-255 printable characters) is required.'),
    );
  }
  const decided = await decide(op, key);
  if (decided.kind !== 'executed') return sendAnswer(op.reply, decided.answer, decided.kind === 'replay');
  const { result } = decided;
  if (result.record) result.afterCommit?.();
  // The hold starts after commit: a lost-response card's approval is on record while its answer is withheld.
  if (result.holdMs !== undefined && !(await op.hold(result.holdMs))) {
    return sendAnswer(op.reply, errorAnswer(503, 'shutting_down', 'The sandbox is shutting down.'));
  }
  return sendAnswer(op.reply, result.answer);
}
