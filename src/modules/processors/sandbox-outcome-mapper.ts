import type {
  AuthorizeDecision,
  BankCreditDecision,
  BankDebitDecision,
  BankDebitSnapshot,
  CaptureDecision,
  CardBrand,
  DeclineCode,
  DeclinedOutcome,
  FailedOutcome,
  QueryUnavailable,
  RecordedOperation,
  RefundDecision,
  VoidDecision,
} from './processor-port.js';
import type { TransportResult } from './processor-http-transport.js';
import { DECLINE_CODES } from './processor-port.js';
import {
  wireAuthorizationCheck,
  wireBankCreditCheck,
  wireBankDebitCheck,
  wireErrorCheck,
  wireOperationCheck,
  wireRefundCheck,
  type WireBankDebit,
} from './sandbox-wire.schema.js';

/**
 * Normalization of the sandbox's answers into port outcomes. Pure: every function maps a transport result (or a
 * parsed body) to exactly one outcome. A parser returning undefined means the body was not what a processor that
 * did its job would send, which is `unknown: bad_response`, never a guess.
 */

// every normalized code but the catch-all, which is what an unrecognised code becomes
const KNOWN_DECLINE_CODES: ReadonlySet<string> = new Set<DeclineCode>(DECLINE_CODES.filter((code) => code !== 'processor_declined'));
const KNOWN_BRANDS: ReadonlySet<string> = new Set<CardBrand>(['visa', 'mastercard', 'amex', 'discover']);

type Parser<T> = (json: unknown) => T | undefined;

function toDeclined(
  processorCode: string | null | undefined,
  message: string | null | undefined,
  processorReference: string,
): DeclinedOutcome | undefined {
  if (!processorCode) return undefined;
  return {
    kind: 'declined',
    code: KNOWN_DECLINE_CODES.has(processorCode) ? (processorCode as DeclineCode) : 'processor_declined',
    processorCode,
    message: message ?? 'The processor declined the operation.',
    processorReference,
  };
}

function parseDate(value: string | null | undefined): Date | undefined | null {
  if (value === null || value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export const parseAuthorizeDecision: Parser<AuthorizeDecision> = (json) => {
  if (!wireAuthorizationCheck.Check(json)) return undefined;
  if (json.status === 'declined') return toDeclined(json.decline_code, json.decline_message, json.id);
  if (json.captured_amount > json.amount || json.amount === 0) return undefined;
  return {
    kind: 'approved',
    processorReference: json.id,
    authorizedAmountMinor: BigInt(json.amount),
    capturedAmountMinor: BigInt(json.captured_amount),
    currency: json.currency.toUpperCase(),
    card: { brand: KNOWN_BRANDS.has(json.card.brand) ? (json.card.brand as CardBrand) : 'unknown', last4: json.card.last4 },
  };
};

export const parseCaptureDecision: Parser<CaptureDecision> = (json) => {
  if (!wireAuthorizationCheck.Check(json)) return undefined;
  if (json.status === 'declined') return toDeclined(json.decline_code, json.decline_message, json.id);
  if (json.captured_amount === 0 || json.captured_amount > json.amount) return undefined;
  return {
    kind: 'approved',
    processorReference: json.id,
    capturedAmountMinor: BigInt(json.captured_amount),
    authorizedAmountMinor: BigInt(json.amount),
    currency: json.currency.toUpperCase(),
  };
};

export const parseVoidDecision: Parser<VoidDecision> = (json) => {
  if (!wireAuthorizationCheck.Check(json)) return undefined;
  if (json.status === 'declined') return toDeclined(json.decline_code, json.decline_message, json.id);
  if (json.voided !== true) return undefined;
  return { kind: 'approved', processorReference: json.id };
};

export const parseRefundDecision: Parser<RefundDecision> = (json) => {
  if (!wireRefundCheck.Check(json)) return undefined;
  if (json.status === 'declined') return toDeclined(json.decline_code, json.decline_message, json.id);
  if (json.amount === 0) return undefined;
  return {
    kind: 'approved',
    processorReference: json.id,
    authorizationReference: json.authorization_id,
    amountMinor: BigInt(json.amount),
    currency: json.currency.toUpperCase(),
  };
};

function toBankDebitSnapshot(wire: WireBankDebit): BankDebitSnapshot | undefined {
  const submittedAt = parseDate(wire.submitted_at);
  const settledAt = parseDate(wire.settled_at);
  const returnedAt = parseDate(wire.returned_at);
  if (!submittedAt || settledAt === null || returnedAt === null) return undefined;
  if (wire.status === 'settled' && !settledAt) return undefined;
  if (wire.status === 'returned' && (!returnedAt || !wire.return_code)) return undefined;
  const snapshot: BankDebitSnapshot = {
    processorReference: wire.id,
    idempotencyKey: wire.idempotency_key,
    status: wire.status,
    amountMinor: BigInt(wire.amount),
    currency: wire.currency.toUpperCase(),
    accountLast4: wire.account.last4,
    submittedAt,
  };
  if (settledAt) snapshot.settledAt = settledAt;
  if (returnedAt) snapshot.returnedAt = returnedAt;
  if (wire.status === 'returned' && wire.return_code) {
    snapshot.returnCode = wire.return_code;
    if (wire.return_reason) snapshot.returnReason = wire.return_reason;
  }
  if (wire.status === 'declined') {
    const declined = toDeclined(wire.decline_code, wire.decline_message, wire.id);
    if (!declined) return undefined;
    snapshot.declineCode = declined.code;
  }
  return snapshot;
}

export const parseBankDebitSnapshot: Parser<BankDebitSnapshot> = (json) =>
  wireBankDebitCheck.Check(json) ? toBankDebitSnapshot(json) : undefined;

export const parseBankDebitDecision: Parser<BankDebitDecision> = (json) => {
  if (!wireBankDebitCheck.Check(json)) return undefined;
  if (json.status === 'declined') return toDeclined(json.decline_code, json.decline_message, json.id);
  const debit = toBankDebitSnapshot(json);
  return debit ? { kind: 'approved', processorReference: json.id, debit } : undefined;
};

export const parseBankCreditDecision: Parser<BankCreditDecision> = (json) => {
  if (!wireBankCreditCheck.Check(json)) return undefined;
  if (json.status === 'declined') return toDeclined(json.decline_code ?? 'processor_declined', undefined, json.id);
  if (json.amount === 0) return undefined;
  return {
    kind: 'approved',
    processorReference: json.id,
    debitReference: json.debit_id,
    amountMinor: BigInt(json.amount),
    currency: json.currency.toUpperCase(),
  };
};

export const parseRecordedOperation: Parser<RecordedOperation> = (json) => {
  if (!wireOperationCheck.Check(json)) return undefined;
  // Only decisions are recorded, always as 200; anything else is not an answer we understand.
  if (json.status_code !== 200) return undefined;
  const result = json.result;
  switch (json.operation) {
    case 'authorization': {
      const outcome = parseAuthorizeDecision(result);
      return outcome && { kind: 'found', operation: 'authorize', outcome };
    }
    case 'capture': {
      const outcome = parseCaptureDecision(result);
      return outcome && { kind: 'found', operation: 'capture', outcome };
    }
    case 'void': {
      const outcome = parseVoidDecision(result);
      return outcome && { kind: 'found', operation: 'void', outcome };
    }
    case 'refund': {
      const outcome = parseRefundDecision(result);
      return outcome && { kind: 'found', operation: 'refund', outcome };
    }
    case 'bank_debit': {
      const outcome = parseBankDebitDecision(result);
      return outcome && { kind: 'found', operation: 'bank_debit', outcome };
    }
    case 'bank_credit': {
      const outcome = parseBankCreditDecision(result);
      return outcome && { kind: 'found', operation: 'bank_credit', outcome };
    }
  }
};

function wireErrorOf(json: unknown): { code?: string; message?: string } {
  return wireErrorCheck.Check(json) ? { code: json.error, ...(json.message ? { message: json.message } : {}) } : {};
}

/** Outcome of a mutating call (authorize, capture, void, refund, bank debit/credit). */
export function mapMutationResult<T>(result: TransportResult, parse: Parser<T>): T | FailedOutcome {
  switch (result.kind) {
    case 'answer': {
      if (result.status >= 200 && result.status < 300) {
        const decision = parse(result.json);
        return decision ?? { kind: 'unknown', reason: 'bad_response', message: 'The processor answered 2xx with an unrecognised body.' };
      }
      if (result.status >= 400 && result.status < 500) {
        const wire = wireErrorOf(result.json);
        return {
          kind: 'error',
          code: 'processing_error',
          message: wire.message ?? `The processor rejected the request (HTTP ${result.status}).`,
          retryable: false,
          sent: true,
          httpStatus: result.status,
          ...(wire.code ? { processorCode: wire.code } : {}),
        };
      }
      return { kind: 'unknown', reason: 'bad_response', message: `Unexpected HTTP ${result.status} from the processor.` };
    }
    case 'server_error': {
      const wire = wireErrorOf(result.json);
      return {
        kind: 'error',
        code: 'processing_error',
        message: `The processor refused the request ${result.attempts} time(s) (last HTTP ${result.status}).`,
        retryable: true,
        sent: true,
        httpStatus: result.status,
        ...(wire.code ? { processorCode: wire.code } : {}),
      };
    }
    case 'connect_failed':
      return {
        kind: 'error',
        code: 'processor_unavailable',
        message: `Could not connect to the processor: ${result.message}`,
        retryable: true,
        sent: result.sent,
      };
    case 'timeout':
      return { kind: 'unknown', reason: 'timeout', message: result.message };
    case 'connection_error':
      return { kind: 'unknown', reason: 'connection_error', message: result.message };
  }
}

/** Outcome of a query (operation status, bank debit). `not_found` only on the processor's own 404 `not_found`. */
export function mapQueryResult<T>(result: TransportResult, parse: Parser<T>): T | { kind: 'not_found' } | QueryUnavailable {
  switch (result.kind) {
    case 'answer': {
      if (result.status === 200) {
        const parsed = parse(result.json);
        return (
          parsed ?? { kind: 'unavailable', reason: 'bad_response', message: 'Unrecognised body from the processor.', sent: true, httpStatus: 200 }
        );
      }
      const wire = wireErrorOf(result.json);
      // A 404 from a proxy or a wrong base URL must not be read as "the operation never happened".
      if (result.status === 404 && wire.code === 'not_found') return { kind: 'not_found' };
      return {
        kind: 'unavailable',
        reason: result.status >= 400 && result.status < 500 ? 'client_error' : 'bad_response',
        message: wire.message ?? `Unexpected HTTP ${result.status} from the processor.`,
        sent: true,
        httpStatus: result.status,
      };
    }
    case 'server_error':
      return {
        kind: 'unavailable',
        reason: 'server_error',
        message: `The processor failed ${result.attempts} time(s) (last HTTP ${result.status}).`,
        sent: true,
        httpStatus: result.status,
      };
    case 'connect_failed':
      return { kind: 'unavailable', reason: 'connect_failed', message: result.message, sent: result.sent };
    case 'timeout':
      return { kind: 'unavailable', reason: 'timeout', message: result.message, sent: true };
    case 'connection_error':
      return { kind: 'unavailable', reason: 'connection_error', message: result.message, sent: true };
  }
}
