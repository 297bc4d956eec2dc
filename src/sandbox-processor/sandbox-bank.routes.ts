import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import {
  computeDebitState,
  debitEventTimes,
  resolveDebitScenario,
  SANDBOX_ROUTING_NUMBER,
  type RailDelays,
} from './sandbox-bank-accounts.js';
import type { SandboxRouteDeps } from './sandbox-card.routes.js';
import { errorAnswer, isoTime, runIdempotentOperation, sendAnswer } from './sandbox-http.js';
import type { SandboxNotifier } from './sandbox-notifier.js';
import { BankCreditBody, BankDebitBody, IdParams } from './sandbox.schema.js';
import { newSandboxId, type BankCreditRecord, type BankDebitRecord } from './sandbox-store.js';

export function toBankDebitWire(debit: BankDebitRecord, delays: RailDelays, nowMs: number): Record<string, unknown> {
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
  const state = computeDebitState({ submittedAtMs: debit.submittedAtMs, scenario: debit.scenario }, delays, nowMs);
  return {
    ...common,
    status: state.status,
    settled_at: state.settledAtMs !== undefined ? isoTime(state.settledAtMs) : null,
    returned_at: state.returnedAtMs !== undefined ? isoTime(state.returnedAtMs) : null,
    return_code: state.achReturn?.code ?? null,
    return_reason: state.achReturn?.reason ?? null,
  };
}

function toBankCreditWire(credit: BankCreditRecord, delays: RailDelays, nowMs: number): Record<string, unknown> {
  const settledAtMs = credit.createdAtMs + delays.settlementDelayMs;
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

function scheduleDebitNotifications(debit: BankDebitRecord, delays: RailDelays, notifier: SandboxNotifier): void {
  const timeline = { submittedAtMs: debit.submittedAtMs, scenario: debit.scenario };
  for (const atMs of debitEventTimes(timeline, delays)) {
    notifier.scheduleAt(atMs, () => {
      // Computed at the event's own instant, not at timer time, so the event matches what a GET reports.
      const state = computeDebitState(timeline, delays, atMs);
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
    });
  }
}

export function registerSandboxBankRoutes(
  app: FastifyInstance,
  deps: SandboxRouteDeps & { notifier: SandboxNotifier | undefined },
): void {
  const { store, runtime, options, notifier } = deps;
  const delays: RailDelays = { settlementDelayMs: options.settlementDelayMs, lateReturnDelayMs: options.lateReturnDelayMs };
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const hold = (ms: number) => runtime.hold(ms);

  typed.post('/v1/bank_debits', { schema: { body: BankDebitBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentOperation({
      store,
      request,
      reply,
      operation: 'bank_debit',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      execute: (idempotencyKey) => {
        const nowMs = Date.now();
        const debit: BankDebitRecord = {
          id: newSandboxId('bd'),
          idempotencyKey,
          amount: body.amount,
          currency: 'usd',
          accountLast4: body.account.account_number.slice(-4),
          routingNumber: body.account.routing_number,
          accountType: body.account.account_type,
          scenario: resolveDebitScenario(body.account.account_number),
          submittedAtMs: nowMs,
          creditedAmount: 0,
        };
        if (body.account.routing_number !== SANDBOX_ROUTING_NUMBER) {
          debit.declined = { code: 'invalid_routing_number', message: 'The routing number is not a valid routing number.' };
        }
        store.bankDebits.set(debit.id, debit);
        if (!debit.declined && notifier) scheduleDebitNotifications(debit, delays, notifier);
        return { answer: { statusCode: 200, body: toBankDebitWire(debit, delays, nowMs) }, record: true };
      },
    });
  });

  typed.get('/v1/bank_debits/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const debit = store.bankDebits.get(request.params.id);
    if (!debit) return sendAnswer(reply, errorAnswer(404, 'not_found', 'No such bank debit.'));
    return reply.send(toBankDebitWire(debit, delays, Date.now()));
  });

  typed.post('/v1/bank_credits', { schema: { body: BankCreditBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentOperation({
      store,
      request,
      reply,
      operation: 'bank_credit',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      execute: (idempotencyKey) => {
        const nowMs = Date.now();
        const debit = store.bankDebits.get(body.debit_id);
        if (!debit) return { answer: errorAnswer(404, 'not_found', 'No such bank debit.'), record: false };
        const state = debit.declined
          ? undefined
          : computeDebitState({ submittedAtMs: debit.submittedAtMs, scenario: debit.scenario }, delays, nowMs);
        if (state?.status !== 'settled') {
          return { answer: errorAnswer(409, 'invalid_state', 'Only a settled debit can be credited back.'), record: false };
        }
        if (debit.creditedAmount + body.amount > debit.amount) {
          return {
            answer: errorAnswer(422, 'amount_exceeds_debit', 'Credits would exceed the debited amount.'),
            record: false,
          };
        }
        debit.creditedAmount += body.amount;
        const credit: BankCreditRecord = {
          id: newSandboxId('bc'),
          idempotencyKey,
          debitId: debit.id,
          amount: body.amount,
          currency: 'usd',
          createdAtMs: nowMs,
        };
        store.bankCredits.set(credit.id, credit);
        return { answer: { statusCode: 200, body: toBankCreditWire(credit, delays, nowMs) }, record: true };
      },
    });
  });

  typed.get('/v1/bank_credits/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const credit = store.bankCredits.get(request.params.id);
    if (!credit) return sendAnswer(reply, errorAnswer(404, 'not_found', 'No such bank credit.'));
    return reply.send(toBankCreditWire(credit, delays, Date.now()));
  });
}
