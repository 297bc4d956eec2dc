import { computeDebitState, type DebitTimeline } from './sandbox-bank-accounts.js';
import type { AuthorizationRecord, BankCreditRecord, BankDebitRecord, OperationRecord, RefundRecord } from './sandbox-records.js';

/** Records → the sandbox's wire format. One mapper per resource; records never go out as they are. */

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function toOperationWire(record: OperationRecord): Record<string, unknown> {
  return {
    object: 'operation',
    idempotency_key: record.idempotencyKey,
    operation: record.operation,
    status_code: record.statusCode,
    created_at: isoTime(record.createdAtMs),
    result: record.body,
  };
}

export function toAuthorizationWire(auth: AuthorizationRecord): Record<string, unknown> {
  return {
    id: auth.id,
    object: 'authorization',
    status: auth.status,
    ...(auth.declineCode !== undefined ? { decline_code: auth.declineCode, decline_message: auth.declineMessage } : {}),
    amount: auth.amount,
    currency: auth.currency,
    captured_amount: auth.capturedAmount,
    refunded_amount: auth.refundedAmount,
    voided: auth.voided,
    card: { brand: auth.brand, last4: auth.last4 },
    idempotency_key: auth.idempotencyKey,
    created_at: isoTime(auth.createdAtMs),
  };
}

export function toRefundWire(refund: RefundRecord): Record<string, unknown> {
  return {
    id: refund.id,
    object: 'refund',
    status: refund.status,
    ...(refund.declineCode !== undefined
      ? { decline_code: refund.declineCode, decline_message: refund.declineMessage }
      : {}),
    authorization_id: refund.authorizationId,
    amount: refund.amount,
    currency: refund.currency,
    created_at: isoTime(refund.createdAtMs),
  };
}

export function debitTimeline(debit: BankDebitRecord): DebitTimeline {
  return { submittedAtMs: debit.submittedAtMs, scenario: debit.scenario };
}

export function toBankDebitWire(debit: BankDebitRecord, nowMs: number): Record<string, unknown> {
  const common = {
    id: debit.id,
    object: 'bank_debit',
    amount: debit.amount,
    currency: debit.currency,
    account: { last4: debit.accountLast4, routing_number: debit.routingNumber, account_type: debit.accountType },
    idempotency_key: debit.idempotencyKey,
    submitted_at: isoTime(debit.submittedAtMs),
  };
  if (debit.declined) {
    return { ...common, status: 'declined', decline_code: debit.declined.code, decline_message: debit.declined.message };
  }
  const state = computeDebitState(debitTimeline(debit), debit.delays, nowMs);
  return {
    ...common,
    status: state.status,
    settled_at: state.settledAtMs !== undefined ? isoTime(state.settledAtMs) : null,
    returned_at: state.returnedAtMs !== undefined ? isoTime(state.returnedAtMs) : null,
    return_code: state.achReturn?.code ?? null,
    return_reason: state.achReturn?.reason ?? null,
  };
}

export function toBankCreditWire(credit: BankCreditRecord, nowMs: number): Record<string, unknown> {
  const settledAtMs = credit.createdAtMs + credit.settlementDelayMs;
  return {
    id: credit.id,
    object: 'bank_credit',
    status: nowMs >= settledAtMs ? 'settled' : 'submitted',
    debit_id: credit.debitId,
    amount: credit.amount,
    currency: credit.currency,
    idempotency_key: credit.idempotencyKey,
    created_at: isoTime(credit.createdAtMs),
    settled_at: nowMs >= settledAtMs ? isoTime(settledAtMs) : null,
  };
}

export type RailEventType = 'bank_debit.settled' | 'bank_debit.returned';

export interface RailEvent {
  type: RailEventType;
  data: Record<string, unknown>;
}

/** The rail event of `debit` at `atMs`, computed at that instant (not at push time) so it matches what a GET says. */
export function toDebitRailEvent(debit: BankDebitRecord, atMs: number): RailEvent {
  const state = computeDebitState(debitTimeline(debit), debit.delays, atMs);
  return {
    type: state.status === 'returned' ? 'bank_debit.returned' : 'bank_debit.settled',
    data: {
      debit_id: debit.id,
      idempotency_key: debit.idempotencyKey,
      status: state.status,
      ...(state.achReturn ? { return_code: state.achReturn.code, return_reason: state.achReturn.reason } : {}),
      ...(state.settledAtMs !== undefined ? { settled_at: isoTime(state.settledAtMs) } : {}),
      ...(state.returnedAtMs !== undefined ? { returned_at: isoTime(state.returnedAtMs) } : {}),
    },
  };
}
