import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { HttpApp } from '../../platform/http/app.js';
import { errorResponses } from '../../platform/http/pagination.js';
import { PROCESSOR_SIGNATURE_HEADER, STRIPE_SIGNATURE_HEADER } from '../processors/index.js';
import { ProcessorNotificationAck, ProcessorNotificationParams } from './payments.schema.js';
import { receiveProcessorNotification, type ProcessorNotificationsDeps } from './processor-notifications.service.js';
import { receiveStripeNotification, type StripeNotificationsDeps } from './stripe-notifications.service.js';

const MAX_NOTIFICATION_BYTES = 64 * 1024;

/**
 * The processor's inbound endpoint. Public (no bearer token: the processor has none), authenticated by the HMAC
 * signature over the raw body, so this scope keeps JSON bodies as the exact string received: re-serialized JSON
 * would not match the signature. The scope is encapsulated, so every other route keeps the normal JSON parser.
 */
export function registerProcessorNotificationRoutes(app: HttpApp, deps: ProcessorNotificationsDeps & StripeNotificationsDeps): void {
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_NOTIFICATION_BYTES }, (_request, body, done) => {
      done(null, body);
    });

    scope.withTypeProvider<TypeBoxTypeProvider>().post('/v1/processor_notifications/:processor', {
      config: { public: true },
      schema: { operationId: 'receiveProcessorNotification',
        security: [],
        tags: ['Processor notifications'],
        summary: 'Inbound rail notifications from a payment processor (signed; no bearer token)',
        description:
          'Called by the processor, not by API clients. `Processor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; ' +
          'several `v1` entries are accepted (secret rotation); timestamps more than 5 minutes away are refused. ' +
          'Body: `{ "id", "type": "bank_debit.settled" | "bank_debit.returned", "created", "data": { "debit_id", "idempotency_key", "status", ' +
          '"settled_at", "returned_at", "return_code", "return_reason" } }`. Each `id` is processed once; redeliveries are answered 200 with `duplicate: true`.',
        params: ProcessorNotificationParams,
        headers: Type.Object({ [PROCESSOR_SIGNATURE_HEADER]: Type.Optional(Type.String({ maxLength: 1024 })) }),
        response: { 200: ProcessorNotificationAck, ...errorResponses(400, 401, 404, 413, 415) },
      },
    }, async (request) => {
      const raw = request.headers[PROCESSOR_SIGNATURE_HEADER];
      return receiveProcessorNotification(deps, {
        processor: request.params.processor,
        rawBody: typeof request.body === 'string' ? request.body : '',
        signatureHeader: typeof raw === 'string' ? raw : undefined,
      });
    });

    // A static route wins over the parametric one above: Stripe signs its own way.
    scope.withTypeProvider<TypeBoxTypeProvider>().post('/v1/processor_notifications/stripe', {
      config: { public: true },
      schema: { operationId: 'receiveStripeNotification',
        security: [],
        tags: ['Processor notifications'],
        summary: 'Stripe webhook events (signed with Stripe-Signature; no bearer token)',
        description:
          'Configure this URL as a Stripe webhook endpoint (events `payment_intent.processing`, `payment_intent.succeeded`, ' +
          '`payment_intent.payment_failed`, `charge.dispute.created`). Verified with the `whsec_…` secrets in `STRIPE_WEBHOOK_SECRETS` ' +
          '(any of them, so a rotation has no gap), 5 minutes of timestamp tolerance. Each event id is processed once; ' +
          'ACH debits move through the same state machine as polling; other events are recorded and acknowledged.',
        headers: Type.Object({ [STRIPE_SIGNATURE_HEADER]: Type.Optional(Type.String({ maxLength: 4096 })) }),
        response: { 200: ProcessorNotificationAck, ...errorResponses(400, 401, 404, 413, 415) },
      },
    }, async (request) => {
      const raw = request.headers[STRIPE_SIGNATURE_HEADER];
      return receiveStripeNotification(deps, {
        rawBody: typeof request.body === 'string' ? request.body : '',
        signatureHeader: typeof raw === 'string' ? raw : undefined,
      });
    });
  });
}
