import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { detectCardBrand, resolveCardScenario } from './sandbox-cards.js';
import { errorAnswer, isoTime, runIdempotentOperation, sendAnswer, type OperationResult } from './sandbox-http.js';
import type { ResolvedSandboxOptions } from './sandbox-options.js';
import type { SandboxRuntime } from './sandbox-runtime.js';
import { AuthorizationBody, CaptureBody, IdParams, RefundBody } from './sandbox.schema.js';
import { newSandboxId, type AuthorizationRecord, type RefundRecord, type SandboxStore } from './sandbox-store.js';

export interface SandboxRouteDeps {
  store: SandboxStore;
  runtime: SandboxRuntime;
  options: ResolvedSandboxOptions;
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

function toRefundWire(refund: RefundRecord): Record<string, unknown> {
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

function notFound(what: string): OperationResult {
  return { answer: errorAnswer(404, 'not_found', `No such ${what}.`), record: false };
}

function invalidState(message: string): OperationResult {
  return { answer: errorAnswer(409, 'invalid_state', message), record: false };
}

export function registerSandboxCardRoutes(app: FastifyInstance, deps: SandboxRouteDeps): void {
  const { store, runtime, options } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const hold = (ms: number) => runtime.hold(ms);

  typed.post('/v1/authorizations', { schema: { body: AuthorizationBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentOperation({
      store,
      request,
      reply,
      operation: 'authorization',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      execute: (idempotencyKey) => {
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
        store.authorizations.set(auth.id, auth);
        return {
          answer: { statusCode: 200, body: toAuthorizationWire(auth) },
          record: true,
          ...(scenario.kind === 'approve_response_lost' ? { holdMs: options.lostResponseDelayMs } : {}),
        };
      },
    });
  });

  typed.get('/v1/authorizations/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const auth = store.authorizations.get(request.params.id);
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
        store,
        request,
        reply,
        operation: 'capture',
        target: id,
        body,
        nowMs: Date.now,
        hold,
        execute: () => {
          const auth = store.authorizations.get(id);
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
          return { answer: { statusCode: 200, body: toAuthorizationWire(auth) }, record: true };
        },
      });
    },
  );

  typed.post('/v1/authorizations/:id/void', { schema: { params: IdParams } }, async (request, reply) => {
    const id = request.params.id;
    return runIdempotentOperation({
      store,
      request,
      reply,
      operation: 'void',
      target: id,
      body: {},
      nowMs: Date.now,
      hold,
      execute: () => {
        const auth = store.authorizations.get(id);
        if (!auth) return notFound('authorization');
        if (auth.status !== 'approved') return invalidState('A declined authorization cannot be voided.');
        if (auth.voided) return invalidState('The authorization was already voided.');
        if (auth.capturedAmount > 0) return invalidState('A captured authorization cannot be voided; refund it.');
        auth.voided = true;
        return { answer: { statusCode: 200, body: toAuthorizationWire(auth) }, record: true };
      },
    });
  });

  typed.post('/v1/refunds', { schema: { body: RefundBody } }, async (request, reply) => {
    const body = request.body;
    return runIdempotentOperation({
      store,
      request,
      reply,
      operation: 'refund',
      target: '',
      body,
      nowMs: Date.now,
      hold,
      execute: () => {
        const auth = store.authorizations.get(body.authorization_id);
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
        }
        store.refunds.set(refund.id, refund);
        return { answer: { statusCode: 200, body: toRefundWire(refund) }, record: true };
      },
    });
  });
}
