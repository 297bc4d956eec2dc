/**
 * Friendly names for the API's objects and parameters, all derived from the generated OpenAPI types, so they
 * change when the API does (and `npm run typecheck` says where). Derived from operations, so they do not depend on
 * how the document names its component schemas.
 */
import type { paths } from './generated/openapi.js';

export type { paths, components, operations } from './generated/openapi.js';

type Method = 'get' | 'post' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type ResponseOf<P extends keyof paths, M extends Method, S extends number> =
  Operation<P, M> extends { responses: infer R } ? (S extends keyof R ? JsonOf<R[S]> : never) : never;
type BodyOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never;
type QueryOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type Payment = ResponseOf<'/v1/payments/{id}', 'get', 200>;
export type PaymentStatus = Payment['status'];
export type PaymentCreateParams = BodyOf<'/v1/payments', 'post'>;
export type PaymentCaptureParams = BodyOf<'/v1/payments/{id}/capture', 'post'>;
export type PaymentCancelParams = BodyOf<'/v1/payments/{id}/cancel', 'post'>;
export type PaymentListParams = Partial<QueryOf<'/v1/payments', 'get'>>;
export type PaymentRetrieveParams = Partial<QueryOf<'/v1/payments/{id}', 'get'>>;

export type Refund = ResponseOf<'/v1/refunds/{id}', 'get', 200>;
export type RefundCreateParams = BodyOf<'/v1/payments/{id}/refunds', 'post'>;
export type RefundListParams = Partial<QueryOf<'/v1/payments/{id}/refunds', 'get'>>;

export type Event = ResponseOf<'/v1/events/{id}', 'get', 200>;
export type EventListParams = Partial<QueryOf<'/v1/events', 'get'>>;

export type WebhookEndpoint = ResponseOf<'/v1/webhook_endpoints/{id}', 'get', 200>;
/** An endpoint as created or after a secret rotation: the only answers that carry its `secret`. */
export type WebhookEndpointWithSecret = ResponseOf<'/v1/webhook_endpoints', 'post', 201>;
export type WebhookEndpointCreateParams = BodyOf<'/v1/webhook_endpoints', 'post'>;
export type WebhookEndpointUpdateParams = BodyOf<'/v1/webhook_endpoints/{id}', 'post'>;
export type WebhookEndpointListParams = Partial<QueryOf<'/v1/webhook_endpoints', 'get'>>;
export type WebhookEndpointRotateSecretParams = BodyOf<'/v1/webhook_endpoints/{id}/rotate_secret', 'post'>;
export type WebhookEndpointReplayParams = BodyOf<'/v1/webhook_endpoints/{id}/replay', 'post'>;
export type WebhookEndpointReplayResult = ResponseOf<'/v1/webhook_endpoints/{id}/replay', 'post', 200>;
export type DeletedWebhookEndpoint = ResponseOf<'/v1/webhook_endpoints/{id}', 'delete', 200>;
export type WebhookDelivery = ResponseOf<'/v1/webhook_deliveries/{id}/retry', 'post', 200>;
export type WebhookDeliveryListParams = Partial<QueryOf<'/v1/webhook_endpoints/{id}/deliveries', 'get'>>;

/** The error object every failed API call answers with. */
export type ApiErrorObject = ResponseOf<'/v1/payments/{id}', 'get', 404>;
