import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { computeDebitState, debitEventTimes, resolveDebitScenario, SANDBOX_ROUTING_NUMBER } from './sandbox-bank-accounts.js';
import {
  findBankCredit,
  findBankDebit,
  insertBankCredit,
  insertBankDebit,
  lockBankDebit,
  saveCreditedAmount,
} from './store/sandbox-bank.repository.js';
import type { SandboxRouteDeps } from './sandbox-card.routes.js';
import { errorAnswer, runIdempotentOperation, sendAnswer } from './sandbox-http.js';
import type { SandboxNotifier } from './sandbox-notifier.js';
import { insertDebitNotifications } from './store/sandbox-outbox.repository.js';
import { newSandboxId, type BankCreditRecord, type BankDebitRecord } from './sandbox-records.js';
import { BankCreditBody, BankDebitBody, IdParams } from './sandbox.schema.js';
import { debitTimeline, toBankCreditWire, toBankDebitWire } from './sandbox-wire.js';

export function registerSandboxBankRoutes(
  app: FastifyInstance,
  deps: SandboxRouteDeps & { notifier: SandboxNotifier | undefined },
): void {
  const { db, runtime, options, notifier } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const hold = (ms: number) => runtime.hold(ms);

  typed.post('/v1/bank_debits', { schema: { body: BankDebitBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentOperation({
      db,
      request,
      reply,
      operation: 'bank_debit',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      execute: async (tx, idempotencyKey) => {
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
          delays: { settlementDelayMs: options.settlementDelayMs, lateReturnDelayMs: options.lateReturnDelayMs },
          creditedAmount: 0,
        };
        if (body.account.routing_number !== SANDBOX_ROUTING_NUMBER) {
          debit.declined = { code: 'invalid_routing_number', message: 'The routing number is not a valid routing number.' };
        }
        await insertBankDebit(tx, debit);
        let afterCommit: (() => void) | undefined;
        if (!debit.declined && notifier) {
          // The debit's future events go into the outbox with it: a restart cannot lose them.
          const eventTimes = debitEventTimes(debitTimeline(debit), debit.delays);
          const events = eventTimes.map((eventAtMs) => ({ eventId: newSandboxId('ntf'), debitId: debit.id, eventAtMs }));
          await insertDebitNotifications(tx, events, nowMs);
          afterCommit = () => notifier.wakeAt(Math.min(...eventTimes));
        }
        return {
          answer: { statusCode: 200, body: toBankDebitWire(debit, nowMs) },
          record: true,
          ...(afterCommit ? { afterCommit } : {}),
        };
      },
    });
  });

  typed.get('/v1/bank_debits/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const debit = await findBankDebit(db, request.params.id);
    if (!debit) return sendAnswer(reply, errorAnswer(404, 'not_found', 'No such bank debit.'));
    return reply.send(toBankDebitWire(debit, Date.now()));
  });

  typed.post('/v1/bank_credits', { schema: { body: BankCreditBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentOperation({
      db,
      request,
      reply,
      operation: 'bank_credit',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      execute: async (tx, idempotencyKey) => {
        const nowMs = Date.now();
        const debit = await lockBankDebit(tx, body.debit_id);
        if (!debit) return { answer: errorAnswer(404, 'not_found', 'No such bank debit.'), record: false };
        const state = debit.declined ? undefined : computeDebitState(debitTimeline(debit), debit.delays, nowMs);
        if (state?.status !== 'settled') {
          return { answer: errorAnswer(409, 'invalid_state', 'Only a settled debit can be credited back.'), record: false };
        }
        if (debit.creditedAmount + body.amount > debit.amount) {
          return {
            answer: errorAnswer(422, 'amount_exceeds_debit', 'Credits would exceed the debited amount.'),
            record: false,
          };
        }
        await saveCreditedAmount(tx, debit.id, debit.creditedAmount + body.amount);
        const credit: BankCreditRecord = {
          id: newSandboxId('bc'),
          idempotencyKey,
          debitId: debit.id,
          amount: body.amount,
          currency: 'usd',
          createdAtMs: nowMs,
          settlementDelayMs: options.settlementDelayMs,
        };
        await insertBankCredit(tx, credit);
        return { answer: { statusCode: 200, body: toBankCreditWire(credit, nowMs) }, record: true };
      },
    });
  });

  typed.get('/v1/bank_credits/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const credit = await findBankCredit(db, request.params.id);
    if (!credit) return sendAnswer(reply, errorAnswer(404, 'not_found', 'No such bank credit.'));
    return reply.send(toBankCreditWire(credit, Date.now()));
  });
}
