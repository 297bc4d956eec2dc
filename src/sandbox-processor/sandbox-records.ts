import { createHash, randomBytes } from 'node:crypto';
import type { DebitScenario, RailDelays } from './sandbox-bank-accounts.js';
import type { SandboxCardBrand } from './sandbox-cards.js';
import { canonicalJson } from '../platform/canonical-json.js';

/**
 * The sandbox's records, as the routes see them (the repositories map them to and from rows). Card numbers and
 * account numbers are never stored, only last4 and hashes.
 */

export type WireOperation = 'authorization' | 'capture' | 'void' | 'refund' | 'bank_debit' | 'bank_credit';

export interface WireAnswer {
  statusCode: number;
  body: Record<string, unknown>;
}

export interface OperationRecord {
  idempotencyKey: string;
  operation: WireOperation;
  /** SHA-256 of the operation, its target and its canonical body: detects a key reused for another request. */
  fingerprint: string;
  statusCode: number;
  body: Record<string, unknown>;
  createdAtMs: number;
}

export interface AuthorizationRecord {
  id: string;
  idempotencyKey: string;
  status: 'approved' | 'declined';
  declineCode?: string;
  declineMessage?: string;
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
  voided: boolean;
  refundsDeclined: boolean;
  brand: SandboxCardBrand;
  last4: string;
  createdAtMs: number;
}

export interface RefundRecord {
  id: string;
  authorizationId: string;
  status: 'approved' | 'declined';
  declineCode?: string;
  declineMessage?: string;
  amount: number;
  currency: string;
  createdAtMs: number;
}

export interface BankDebitRecord {
  id: string;
  idempotencyKey: string;
  /** `declined` debits were refused at submission and never enter the settlement timeline. */
  declined?: { code: string; message: string };
  amount: number;
  currency: 'usd';
  accountLast4: string;
  routingNumber: string;
  accountType: 'checking' | 'savings';
  scenario: DebitScenario;
  submittedAtMs: number;
  /** The rail delays in force at submission: the debit keeps that timeline across restarts. */
  delays: RailDelays;
  creditedAmount: number;
}

export interface BankCreditRecord {
  id: string;
  idempotencyKey: string;
  debitId: string;
  amount: number;
  currency: 'usd';
  createdAtMs: number;
  settlementDelayMs: number;
}

export function newSandboxId(prefix: 'auth' | 'rf' | 'bd' | 'bc' | 'ntf'): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** Key order must not matter: a client may re-serialize the same request differently on retry. */
export function fingerprintRequest(operation: WireOperation, target: string, body: unknown): string {
  return createHash('sha256').update(`${operation}\n${target}\n${canonicalJson(body)}`).digest('hex');
}

export type IdempotentLookup =
  | { kind: 'new' }
  | { kind: 'replay'; answer: WireAnswer }
  | { kind: 'conflict'; answer: WireAnswer };

/** Same key + same request → the recorded answer; same key + another request → 422. */
export function judgeIdempotencyKey(
  existing: OperationRecord | undefined,
  operation: WireOperation,
  fingerprint: string,
): IdempotentLookup {
  if (!existing) return { kind: 'new' };
  if (existing.operation === operation && existing.fingerprint === fingerprint) {
    return { kind: 'replay', answer: { statusCode: existing.statusCode, body: existing.body } };
  }
  return {
    kind: 'conflict',
    answer: {
      statusCode: 422,
      body: {
        error: 'idempotency_key_reused',
        message: `Idempotency-Key was already used for a different ${existing.operation} request.`,
      },
    },
  };
}
