import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxDb, SandboxTx } from './store/sandbox-db.js';
import { findOperation, insertOperation, lockIdempotencyKey } from './store/sandbox-operations.repository.js';
import { fingerprintRequest, judgeIdempotencyKey, type OperationRecord, type WireAnswer, type WireOperation } from './sandbox-records.js';

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

/** The record that keeps an executed operation's answer for replays under its key. */
function operationRecord(op: Pick<IdempotentOperation, 'operation' | 'nowMs'>, key: string, fingerprint: string, answer: WireAnswer): OperationRecord {
  return { idempotencyKey: key, operation: op.operation, fingerprint, statusCode: answer.statusCode, body: answer.body, createdAtMs: op.nowMs() };
}

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
      await insertOperation(tx, operationRecord(op, key, fingerprint, result.answer));
      return { kind: 'executed', result };
    });
  } catch (err) {
    if (err instanceof UnrecordedResult) return { kind: 'executed', result: err.result };
    throw err;
  }
}

function readKey(request: FastifyRequest): string | undefined {
  const rawKey = request.headers['idempotency-key'];
  const key = typeof rawKey === 'string' ? rawKey : undefined;
  return key !== undefined && KEY_PATTERN.test(key) ? key : undefined;
}

function missingKey(reply: FastifyReply): FastifyReply {
  return sendAnswer(reply, errorAnswer(400, 'missing_idempotency_key', 'An Idempotency-Key header (1-255 printable characters) is required.'));
}

async function answerExecuted(op: Pick<IdempotentOperation, 'reply' | 'hold'>, result: OperationResult): Promise<FastifyReply> {
  if (result.record) result.afterCommit?.();
  // The hold starts after commit: a lost-response card's approval is on record while its answer is withheld.
  if (result.holdMs !== undefined && !(await op.hold(result.holdMs))) {
    return sendAnswer(op.reply, errorAnswer(503, 'shutting_down', 'The sandbox is shutting down.'));
  }
  return sendAnswer(op.reply, result.answer);
}

/**
 * Same key + same request → the recorded answer (never a second execution); same key + different request → 422.
 */
export async function runIdempotentOperation(op: IdempotentOperation): Promise<FastifyReply> {
  const key = readKey(op.request);
  if (key === undefined) return missingKey(op.reply);
  const decided = await decide(op, key);
  if (decided.kind !== 'executed') return sendAnswer(op.reply, decided.answer, decided.kind === 'replay');
  return answerExecuted(op, decided.result);
}

/** A decision taken from the request alone; one to record says how to write it with its rows in one statement. */
export type CreationResult =
  | (OperationResult & { record: false })
  | (OperationResult & {
    record: true;
    /** Writes the answer's record and the created rows together unless the key is already recorded (then false). */
    writeOnce: (operation: OperationRecord) => Promise<boolean>;
  });

export interface IdempotentCreation extends Omit<IdempotentOperation, 'execute'> {
  decide: (idempotencyKey: string) => CreationResult;
}

/**
 * runIdempotentOperation for an operation that creates a resource from the request alone (an authorization): the
 * answer and its rows are written in one statement (one round trip instead of six: BEGIN, lock, lookup, two
 * INSERTs, COMMIT), with the same outcomes. The key is looked up only when that statement finds it recorded. An
 * answer that is not recorded (a simulated failure) still goes through the transaction, which looks the key up
 * under its lock before answering.
 */
export async function runIdempotentCreation(op: IdempotentCreation): Promise<FastifyReply> {
  const key = readKey(op.request);
  if (key === undefined) return missingKey(op.reply);
  const result = op.decide(key);
  if (!result.record) return runIdempotentOperation({ ...op, execute: async () => result });
  const fingerprint = fingerprintRequest(op.operation, op.target, op.body);
  if (await result.writeOnce(operationRecord(op, key, fingerprint, result.answer))) return answerExecuted(op, result);
  // Operation records are never deleted, so the key's record is there to replay (or to refuse a different request).
  const existing = judgeIdempotencyKey(await findOperation(op.db, key), op.operation, fingerprint);
  if (existing.kind === 'new') throw new Error(`sandbox: the record of idempotency key ${key} vanished`);
  return sendAnswer(op.reply, existing.answer, existing.kind === 'replay');
}
