import { createHash, randomBytes } from 'node:crypto';
import type { DebitScenario } from './sandbox-bank-accounts.js';
import type { SandboxCardBrand } from './sandbox-cards.js';
import { canonicalJson } from '../platform/canonical-json.js';

/** In-memory records of the sandbox. Card numbers and account numbers are never stored, only last4 and hashes. */

export type WireOperation = 'authorization' | 'capture' | 'void' | 'refund' | 'bank_debit' | 'bank_credit';

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
  creditedAmount: number;
}

export interface BankCreditRecord {
  id: string;
  idempotencyKey: string;
  debitId: string;
  amount: number;
  currency: 'usd';
  createdAtMs: number;
}

export interface SandboxStore {
  operations: Map<string, OperationRecord>;
  authorizations: Map<string, AuthorizationRecord>;
  refunds: Map<string, RefundRecord>;
  bankDebits: Map<string, BankDebitRecord>;
  bankCredits: Map<string, BankCreditRecord>;
}

export function createSandboxStore(): SandboxStore {
  return {
    operations: new Map(),
    authorizations: new Map(),
    refunds: new Map(),
    bankDebits: new Map(),
    bankCredits: new Map(),
  };
}

export function newSandboxId(prefix: 'auth' | 'rf' | 'bd' | 'bc' | 'ntf'): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}


/** Key order must not matter: a client may re-serialize the same request differently on retry. */
export function fingerprintRequest(operation: WireOperation, target: string, body: unknown): string {
  return createHash('sha256').update(`${operation}\n${target}\n${canonicalJson(body)}`).digest('hex');
}

export interface WireAnswer {
  statusCode: number;
  body: Record<string, unknown>;
}

export type IdempotentLookup =
  | { kind: 'new' }
  | { kind: 'replay'; answer: WireAnswer }
  | { kind: 'conflict'; answer: WireAnswer };

export function lookupIdempotencyKey(
  store: SandboxStore,
  key: string,
  operation: WireOperation,
  fingerprint: string,
): IdempotentLookup {
  const existing = store.operations.get(key);
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

export function recordOperation(
  store: SandboxStore,
  key: string,
  operation: WireOperation,
  fingerprint: string,
  answer: WireAnswer,
  nowMs: number,
): void {
  store.operations.set(key, {
    idempotencyKey: key,
    operation,
    fingerprint,
    statusCode: answer.statusCode,
    body: answer.body,
    createdAtMs: nowMs,
  });
}
