/**
 * Compile-time check (npm run typecheck): each resource method's declared return type is exactly what its
 * operation answers in the generated OpenAPI types, so a response schema that changes name or shape cannot leave
 * the SDK's friendly types pointing at the wrong object.
 */
import type {
  DeletedWebhookEndpoint, Event, Payment, Refund, WebhookDelivery, WebhookEndpoint, WebhookEndpointReplayResult,
  WebhookEndpointWithSecret, PaymentCreateParams, RefundCreateParams, WebhookEndpointCreateParams, paths,
} from '@nimbuspay/sdk';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Json<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type Answer<P extends keyof paths, M extends keyof paths[P], S extends number> =
  NonNullable<paths[P][M]> extends { responses: infer R } ? (S extends keyof R ? Json<R[S]> : never) : never;
type Body<P extends keyof paths, M extends keyof paths[P]> =
  NonNullable<paths[P][M]> extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;

export const operationTypesMatch: [
  Equal<Payment, Answer<'/v1/payments/{id}', 'get', 200>>,
  Equal<Payment, Answer<'/v1/payments', 'post', 201>>,
  Equal<Payment, Answer<'/v1/payments/{id}/capture', 'post', 200>>,
  Equal<Payment, Answer<'/v1/payments/{id}/cancel', 'post', 200>>,
  Equal<Refund, Answer<'/v1/payments/{id}/refunds', 'post', 201>>,
  Equal<Refund, Answer<'/v1/refunds/{id}', 'get', 200>>,
  Equal<Event, Answer<'/v1/events/{id}', 'get', 200>>,
  Equal<WebhookEndpoint, Answer<'/v1/webhook_endpoints/{id}', 'get', 200>>,
  Equal<WebhookEndpoint, Answer<'/v1/webhook_endpoints/{id}', 'post', 200>>,
  Equal<WebhookEndpointWithSecret, Answer<'/v1/webhook_endpoints', 'post', 201>>,
  Equal<WebhookEndpointWithSecret, Answer<'/v1/webhook_endpoints/{id}/rotate_secret', 'post', 200>>,
  Equal<DeletedWebhookEndpoint, Answer<'/v1/webhook_endpoints/{id}', 'delete', 200>>,
  Equal<WebhookEndpointReplayResult, Answer<'/v1/webhook_endpoints/{id}/replay', 'post', 200>>,
  Equal<WebhookDelivery, Answer<'/v1/webhook_deliveries/{id}/retry', 'post', 200>>,
  Equal<PaymentCreateParams, Body<'/v1/payments', 'post'>>,
  Equal<RefundCreateParams | undefined, Body<'/v1/payments/{id}/refunds', 'post'> | undefined>,
  Equal<WebhookEndpointCreateParams, Body<'/v1/webhook_endpoints', 'post'>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
