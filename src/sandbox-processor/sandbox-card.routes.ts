import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { detectCardBrand, resolveCardScenario } from './sandbox-cards.js';
import {
  findAuthorization,
  insertAuthorizationOnce,
  insertRefund,
  lockAuthorization,
  saveAuthorizationState,
} from './store/sandbox-card.repository.js';
import type { SandboxDb } from './store/sandbox-db.js';
import { errorAnswer, runIdempotentCreation, runIdempotentOperation, sendAnswer, type CreationResult, type OperationResult } from './sandbox-http.js';
import type { ResolvedSandboxOptions } from './sandbox-options.js';
import { newSandboxId, type AuthorizationRecord, type RefundRecord } from './sandbox-records.js';
import type { SandboxRuntime } from './sandbox-runtime.js';
import { AuthorizationBody, CaptureBody, IdParams, RefundBody } from './sandbox.schema.js';
import { toAuthorizationWire, toRefundWire } from './sandbox-wire.js';

export interface SandboxRouteDeps {
  db: SandboxDb;
  runtime: SandboxRuntime;
  options: ResolvedSandboxOptions;
}

function notFound(what: string): OperationResult {
  return { answer: errorAnswer(404, 'not_found', `No such ${what}.`), record: false };
}

function invalidState(message: string): OperationResult {
  return { answer: errorAnswer(409, 'invalid_state', message), record: false };
}

export function registerSandboxCardRoutes(app: FastifyInstance, deps: SandboxRouteDeps): void {
  const { db, runtime, options } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const hold = (ms: number) => runtime.hold(ms);

  typed.post('/v1/authorizations', { schema: { body: AuthorizationBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentCreation({
      db,
      request,
      reply,
      operation: 'authorization',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      decide: (idempotencyKey): CreationResult => {
        const nowMs = Date.now();
        const card = { number: body.card.number, expMonth: body.card.exp_month, expYear: body.card.exp_year };
        const scenario = resolveCardScenario(card, nowMs);
        if (scenario.kind === 'fail_server_error') {
          return { answer: errorAnswer(500, 'internal_error', 'The acquirer failed to process the request.'), record: false };
        }
        if (scenario.kind === 'lost_before_recording') {
          return {
            answer: errorAnswer(504, 'issuer_timeout', 'The issuer did not answer.'),
            record: false,
            holdMs: options.lostResponseDelayMs,
          };
        }
        const approved = scenario.kind !== 'decline';
        const auth: AuthorizationRecord = {
          id: newSandboxId('auth'),
          idempotencyKey,
          status: approved ? 'approved' : 'declined',
          amount: body.amount,
          currency: body.currency.toLowerCase(),
          capturedAmount: approved && body.capture ? body.amount : 0,
          refundedAmount: 0,
          voided: false,
          refundsDeclined: scenario.kind === 'approve_refunds_declined',
          brand: detectCardBrand(body.card.number.slice(0, 6)),
          last4: body.card.number.slice(-4),
          createdAtMs: nowMs,
        };
        if (scenario.kind === 'decline') {
          auth.declineCode = scenario.code;
          auth.declineMessage = scenario.message;
        }
        return {
          answer: { statusCode: 200, body: toAuthorizationWire(auth) },
          record: true,
          writeOnce: (operation) => insertAuthorizationOnce(db, operation, auth),
          ...(scenario.kind === 'approve_response_lost' ? { holdMs: options.lostResponseDelayMs } : {}),
        };
      },
    });
  });

  typed.get('/v1/authorizations/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const auth = await findAuthorization(db, request.params.id);
    if (!auth) return sendAnswer(reply, errorAnswer(404, 'not_found', 'No such authorization.'));
    return reply.send(toAuthorizationWire(auth));
  });

  typed.post(
    '/v1/authorizations/:id/capture',
    { schema: { params: IdParams, body: CaptureBody } },
    async (request, reply) => {
      const id = request.params.id;
      const body = request.body ?? {};
      return runIdempotentOperation({
        db,
        request,
        reply,
        operation: 'capture',
        target: id,
        body,
        nowMs: Date.now,
        hold,
        execute: async (tx) => {
          const auth = await lockAuthorization(tx, id);
          if (!auth) return notFound('authorization');
          if (auth.status !== 'approved') return invalidState('A declined authorization cannot be captured.');
          if (auth.voided) return invalidState('The authorization was voided.');
          if (auth.capturedAmount > 0) {
            return { answer: errorAnswer(409, 'already_captured', 'The authorization was already captured.'), record: false };
          }
          const amount = body.amount ?? auth.amount;
          if (amount > auth.amount) {
            return {
              answer: errorAnswer(422, 'amount_exceeds_authorized', 'The capture amount exceeds the authorized amount.'),
              record: false,
            };
          }
          auth.capturedAmount = amount;
          await saveAuthorizationState(tx, auth);
          return { answer: { statusCode: 200, body: toAuthorizationWire(auth) }, record: true };
        },
      });
    },
  );

  typed.post('/v1/authorizations/:id/void', { schema: { params: IdParams } }, async (request, reply) => {
    const id = request.params.id;
    return runIdempotentOperation({
      db,
      request,
      reply,
      operation: 'void',
      target: id,
      body: {},
      nowMs: Date.now,
      hold,
      execute: async (tx) => {
        const auth = await lockAuthorization(tx, id);
        if (!auth) return notFound('authorization');
        if (auth.status !== 'approved') return invalidState('A declined authorization cannot be voided.');
        if (auth.voided) return invalidState('The authorization was already voided.');
        if (auth.capturedAmount > 0) return invalidState('A captured authorization cannot be voided; refund it.');
        auth.voided = true;
        await saveAuthorizationState(tx, auth);
        return { answer: { statusCode: 200, body: toAuthorizationWire(auth) }, record: true };
      },
    });
  });

  typed.post('/v1/refunds', { schema: { body: RefundBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentOperation({
      db,
      request,
      reply,
      operation: 'refund',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      execute: async (tx) => {
        const auth = await lockAuthorization(tx, body.authorization_id);
        if (!auth) return notFound('authorization');
        if (auth.capturedAmount === 0) return invalidState('Only a captured authorization can be refunded.');
        if (auth.refundedAmount + body.amount > auth.capturedAmount) {
          return {
            answer: errorAnswer(422, 'amount_exceeds_captured', 'Refunds would exceed the captured amount.'),
            record: false,
          };
        }
        const refund: RefundRecord = {
          id: newSandboxId('rf'),
          authorizationId: auth.id,
          status: auth.refundsDeclined ? 'declined' : 'approved',
          amount: body.amount,
          currency: auth.currency,
          createdAtMs: Date.now(),
        };
        if (auth.refundsDeclined) {
          refund.declineCode = 'refund_declined';
          refund.declineMessage = 'The issuer declined the refund.';
        } else {
          auth.refundedAmount += body.amount;
          await saveAuthorizationState(tx, auth);
        }
        await insertRefund(tx, refund);
        return { answer: { statusCode: 200, body: toRefundWire(refund) }, record: true };
      },
    });
  });
}
