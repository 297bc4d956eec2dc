import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  fingerprintRequest,
  lookupIdempotencyKey,
  recordOperation,
  type SandboxStore,
  type WireAnswer,
  type WireOperation,
} from './sandbox-store.js';

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
}

export interface IdempotentOperation {
  store: SandboxStore;
  request: FastifyRequest;
  reply: FastifyReply;
  operation: WireOperation;
  /** The resource the operation acts on ('' when it creates one). */
  target: string;
  body: unknown;
  nowMs: () => number;
  hold: (ms: number) => Promise<boolean>;
  /** Runs synchronously after the key check, so two concurrent requests with one key cannot both execute. */
  execute: (idempotencyKey: string) => OperationResult;
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
  const fingerprint = fingerprintRequest(op.operation, op.target, op.body);
  const existing = lookupIdempotencyKey(op.store, key, op.operation, fingerprint);
  if (existing.kind === 'replay') return sendAnswer(op.reply, existing.answer, true);
  if (existing.kind === 'conflict') return sendAnswer(op.reply, existing.answer);

  const result = op.execute(key);
  if (result.record) recordOperation(op.store, key, op.operation, fingerprint, result.answer, op.nowMs());
  if (result.holdMs !== undefined && !(await op.hold(result.holdMs))) {
    return sendAnswer(op.reply, errorAnswer(503, 'shutting_down', 'The sandbox is shutting down.'));
  }
  return sendAnswer(op.reply, result.answer);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
